"""One hook call without HTTP: the service registry, the schemas, the typed request, gathering
the chart, the pipeline, demo requests and the start-up warm-up call."""
