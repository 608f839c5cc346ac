"""The NETCONF driver: an OpenConfig access point (openconfig-access-points) managed over NETCONF/SSH.

Pure: ``openconfig_xml`` (+ ``openconfig_leaves``, ``openconfig_names``) builds filters and edit
payloads and parses replies; ``notifications`` parses RFC 6470 config changes and our radar
notification; ``radio_translation``, ``discovery`` and ``change_detection`` turn OpenConfig records
into RadioState, capabilities and events; ``failures`` types ncclient's exceptions.
I/O at the edge: ``session`` runs ncclient off the event loop (``host_keys`` checks the server),
``apply_transaction`` is the confirmed-commit change, ``driver`` is the RadioDriver, and ``url``
parses ``netconf://`` URLs into a ``target`` and opens a driver.
"""
