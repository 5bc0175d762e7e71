"""The process ``mr-cds serve`` becomes: gunicorn with gevent workers, and its start-up checks."""
