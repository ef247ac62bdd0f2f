"""Tools for authors of story graphs: lint, dry run, export and import.

Sits above the engine and the models and below the schema and the CLI, which
serve it as ``graphDiagnostics`` and as ``gencaster lint|play|graph``.
"""
