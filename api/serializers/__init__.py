"""Input and output serializers of the API, one module per resource; output ones carry Portus's field names."""
