"""Build XML documents as small immutable trees and serialise them with escaping."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True)
class Raw:
    """Markup inserted verbatim (used only to build deliberately hostile documents)."""

    markup: str


@dataclass(frozen=True)
class Element:
    """One XML element with a prefixed tag, attributes and children."""

    tag: str
    attrs: tuple[tuple[str, str], ...] = ()
    children: tuple[Element | str | Raw, ...] = ()


Child = Element | str | Raw | None


def el(tag: str, *children: Child, attrs: dict[str, str] | None = None) -> Element:
    """Return an element; None children are dropped so optional parts read naturally."""
    kept = tuple(c for c in children if c is not None)
    return Element(tag, tuple((attrs or {}).items()), kept)


def text_el(tag: str, value: str | int | float | bool) -> Element:
    """Return an element holding one text value in XML Schema lexical form."""
    if isinstance(value, bool):
        return el(tag, "true" if value else "false")
    return el(tag, str(value))


def serialize(node: Element | str | Raw) -> str:
    """Return the markup of a node, escaping text and attribute values."""
    parts: list[str] = []
    _write(node, parts)
    return "".join(parts)


def _write(node: Element | str | Raw, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(escape(node))
        return
    if isinstance(node, Raw):
        out.append(node.markup)
        return
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in node.attrs)
    if not node.children:
        out.append(f"<{node.tag}{attrs}/>")
        return
    out.append(f"<{node.tag}{attrs}>")
    for child in node.children:
        _write(child, out)
    out.append(f"</{node.tag}>")


def replace_first_leaf(node: Element, replacement: Element | str | Raw) -> Element:
    """Return a copy of the tree whose first text-bearing leaf holds ``replacement`` instead."""
    result, _ = _replace(node, replacement)
    return result


def _replace(node: Element, replacement: Element | str | Raw) -> tuple[Element, bool]:
    if all(not isinstance(c, Element) for c in node.children):
        return Element(node.tag, node.attrs, (replacement,)), True
    children: list[Element | str | Raw] = []
    done = False
    for child in node.children:
        if not done and isinstance(child, Element):
            child, done = _replace(child, replacement)
        children.append(child)
    return Element(node.tag, node.attrs, tuple(children)), done
