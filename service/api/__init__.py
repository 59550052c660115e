"""The REST API under /api/v1: JSON in and out, Bearer keys, errors with stable codes."""
