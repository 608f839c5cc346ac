"""Linux APs: hostapd's control interface (channel, width, radar fallback, DFS events) plus nl80211.

Modules, one idea each:
    url: ``hostapd:///<ctrl_dir>/<ifname>`` targets and open_hostapd_driver.
    driver: HostapdDriver (drivers.protocol.RadioDriver) for one hostapd interface, one radio.
    control: the asyncio control-socket client (request, wait_event, ATTACH/DETACH).
    messages, commands: reply and event parsers, CHAN_SWITCH and SET chanlist builders (pure).
    event_translation: hostapd and nl80211 events to DriverEvents, with what is in flight (pure).
    radio_facts, frequencies: band, config and capabilities from STATUS; MHz to channels (pure).
    nl80211, nl80211_decode, telemetry: pyroute2 I/O, its message decoding and survey/station
        deltas (pure).
    nl80211_scan, scan_results, neighbour_scan: the AP's own passive scan of its channel (I/O),
        scan dump decoding (pure) and its rate limit and cache (pure): the NEIGHBOURS reading.
"""
