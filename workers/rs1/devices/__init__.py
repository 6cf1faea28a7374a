"""The device registry: rows in `devices`, enrolment, status, presence."""
