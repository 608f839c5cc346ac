"""Typed leaf readers for OpenConfig XML: each checks the YANG type and names the node when it fails.

Leaves are looked up in the access-points namespace (radio nodes carry it, see openconfig_xml).
"""

from __future__ import annotations

from lxml import etree

from drivers.netconf.openconfig_names import AP_NS, OpenConfigReplyError


def child(node: etree._Element, name: str) -> etree._Element | None:
    """The first child ``name`` in the access-points namespace, or None."""
    return node.find(f"{{{AP_NS}}}{name}")


def text_leaf(node: etree._Element, name: str, source: str, where: str) -> str | None:
    """A leaf's whitespace-stripped text; None when absent; an error when it is a container."""
    leaf = child(node, name)
    if leaf is None:
        return None
    if len(leaf):
        raise OpenConfigReplyError(source, f"{_at(where, name)} has child elements; expected a leaf")
    return (leaf.text or "").strip()


def int_leaf(node: etree._Element, name: str, source: str, where: str, bounds: tuple[int, int]) -> int | None:
    """An integer leaf within the YANG type's ``bounds`` (inclusive); None when absent."""
    text = text_leaf(node, name, source, where)
    return None if text is None else _int(text, source, _at(where, name), bounds)


def int_leaves(node: etree._Element, name: str, source: str, where: str, bounds: tuple[int, int]) -> tuple[int, ...]:
    """Every entry of an integer leaf-list, in document order."""
    entries = node.iterfind(f"{{{AP_NS}}}{name}")
    return tuple(_int((e.text or "").strip(), source, _at(where, name), bounds) for e in entries)


def identity_leaf(node: etree._Element, name: str, source: str, where: str, namespace: str) -> str | None:
    """The local name of an identityref leaf whose identity lives in ``namespace``; None when absent.

    ``prefix:NAME`` is resolved through the element's own namespace declarations; a bare NAME is
    accepted (the prefix is optional when the identity's module is the default namespace).
    """
    leaf = child(node, name)
    text = text_leaf(node, name, source, where)
    if leaf is None or text is None:
        return None
    prefix, sep, local = text.rpartition(":")
    if not local:
        raise OpenConfigReplyError(source, f"{_at(where, name)} is empty; expected an identity")
    if sep:
        declared = leaf.nsmap.get(prefix)
        if declared is None:
            raise OpenConfigReplyError(source, f"{_at(where, name)} {text!r} uses undeclared prefix {prefix!r}")
        if declared != namespace:
            raise OpenConfigReplyError(source, f"{_at(where, name)} {text!r} is from {declared}, expected {namespace}")
    return local


def _int(text: str, source: str, where: str, bounds: tuple[int, int]) -> int:
    try:
        value = int(text)
    except ValueError:
        raise OpenConfigReplyError(source, f"{where} is {text!r}, not an integer") from None
    low, high = bounds
    if not low <= value <= high:
        raise OpenConfigReplyError(source, f"{where} is {value}, outside {low}..{high}")
    return value


def _at(where: str, name: str) -> str:
    return f"{where}/{name}" if where else name
