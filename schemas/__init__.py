"""Marshmallow schemas for every request and response, named by role."""
