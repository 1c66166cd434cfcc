"""Renewal (perpanjangan): an area's participants of one budget year carried into a new decree.

A job is planned once, then run in chunks:

    queued ─► running (plan: every candidate's decision in rows) ─► chunks ─► completed
                 ▲                                                    │ a worker died
                 └────────────── lease expired (sweeper) ◄────────────┘

Candidates: the area's enrolments of `from_budget_year` paid by the decree's funder that reached
the registry (active, or ended with a participant number). Each one is, in this order of
precedence, left out as `deceased` (a death report, or the registry said so), `ended` (ended for
any other reason), `moved_out` (the person now lives outside the area), `over_age` (older than
ENROLMENT_MAX_AGE when the decree's period starts); or, if already renewed into the new year
(an earlier run, or a live enrolment of that year), carried without a new record. The rest are
served in the documented order, earliest enrolment first (coverage start, then creation time,
then id): each takes a seat while the decree has seats and money left beyond what it already
commits; the first that would pass the quota and everyone after is `over_quota`, the first that
would pass the amount and everyone after `over_budget` (a strict prefix: the order is the
promise, so a cheaper person further down never jumps the queue).

Exactly once: a new enrolment's id is derived from its predecessor and the decree
(`renewal_id`), and `renewal_of` is unique, so a chunk done twice, a job resumed, or the same
renewal asked for again inserts nothing a second time (INSERT … ON CONFLICT DO NOTHING). A
chunk's inserts, its rows' ids and the job's progress commit together. The commitment of the
decree is the database's (enrolment.models.FundingAllocation): should seats go meanwhile, the
chunk that would overrun fails the CHECK and the job fails with `allocation_exhausted`, keeping
what it made; asking again re-plans against what is left.

The package: `jobs` (asking for a renewal, its job row and the lease a runner claims), `plan`
(the dry-run plan: who is carried over, who is left out and why, in which order) and `run` (the
real run: the plan's rows turned into enrolments, chunk by chunk, and the sweeper).
"""
