"""The Flask app: factory and error mapping, endpoints, body reading, request log, CORS, OpenAPI."""
