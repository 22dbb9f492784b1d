"""The ``ghp`` command line: thin click commands over the ``ghp``, ``search`` and ``export`` libraries."""
