"""Spreadsheet imports: a village office's list of people (CSV or XLSX) into workers and enrolments.

`layout` is the file format (columns, accepted values, stable ids), `readers` stream rows out of
an uploaded file, `services` create and process jobs in chunks through `workers_save` and
`enrolments_save`, `tasks` runs a job in the background, `template` serves the blank template.
"""
