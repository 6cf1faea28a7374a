"""The transactional outbox: outbound events inserted in the D1 batch of their state change
(delivered by rs1.events). Below the stores that emit events, so none of them imports upward."""
