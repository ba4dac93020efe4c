"""The local runtime: the whole service on one machine, provisioned from infra/template.yaml.

``make serve`` runs ``python -m medialayer.local.serve``; tests start the same ``LocalRuntime``.
Nothing here is packaged into Lambda functions' behaviour: it only hosts them.
"""
