"""The cohort query language: which devices a rollout, a fleet search or a bulk operation
means (README "Fleet targeting and rollout policy"). Parsed here into a small AST; evaluated
in plain Python (rs1.query.evaluate) and compiled to parameterised SQL by the devices' store
(rs1.devices.cohort_store), which the property tests hold equal."""

from rs1.query.parser import Atom, Bool, Node, Not, QueryError, parse_query

__all__ = ["Atom", "Bool", "Node", "Not", "QueryError", "parse_query"]
