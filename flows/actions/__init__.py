"""Pipeline actions: the plugin format (`base`), the registry (`registry`) and the built-ins."""
