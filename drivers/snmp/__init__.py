"""The SNMP southbound driver: APs and WLCs reached over SNMP v2c or v3 (pysnmp 7, asyncio).

``url.parse_snmp_url`` turns an ``snmp://`` / ``snmpv3://`` URL into a target, ``url.open_snmp_driver``
connects and discovers the radios; ``oid_profiles`` holds the OID maps as data (IEEE802dot11-MIB and
Cisco AIRESPACE), ``client`` the verified GET/WALK/SET, ``trap_receiver`` turns traps into events.
"""
