"""The use cases: one function for each thing a person does, each owning its transaction and its one
decision about the published files (`publishing.AFTER`).

Entry points (stories/web/, stories/cli.py) parse input, call one of these and render; these call
the domain (stories/*.py) and the adapters (pipelines/); the domain calls neither.
"""
