"""Lambda handlers of the kit's custom resources (each module is deployed on its own)."""
