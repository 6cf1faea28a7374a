"""One App (router + handlers) per Worker."""
