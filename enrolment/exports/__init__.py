"""Exports of an area's workers and enrolments as CSV or XLSX: `services` selects, audits and
streams the rows, `views` serves them at /api/v1/exports/{workers,enrolments}.{csv,xlsx}."""

from enrolment.exports.services import XLSX_TYPE, Export, export_prepare, export_response

__all__ = ["XLSX_TYPE", "Export", "export_prepare", "export_response"]
