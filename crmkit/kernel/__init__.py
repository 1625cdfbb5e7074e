"""The crmkit kernel: plugins, registries, storage, validation, access,
reports, templates and the outbox. It knows no CRM concept but "subject".

Plugins import from ``crmkit`` (the public API), never from here.
"""
