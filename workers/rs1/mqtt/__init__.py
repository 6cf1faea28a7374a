"""MQTT: the device topic policy (ACL), authn/authz decisions, EMQX webhook bodies. The topic
namespace and payloads are the device contract's (rs1contract)."""
