"""The ``boxoffice`` command: a thin dispatcher that imports each face only when asked."""
