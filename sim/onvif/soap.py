"""Parse SOAP 1.2 requests safely and build SOAP 1.2 envelopes and ONVIF faults."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element as XmlElement

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from sim.onvif.xmlwrite import Element, el, serialize

ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

# Prefixes every reply envelope declares, so handlers can write "tds:...", "tt:..." freely.
NAMESPACES: dict[str, str] = {
    "env": ENV,
    "tds": TDS,
    "trt": TRT,
    "tt": TT,
    "ter": TER,
}

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class SoapFault(Exception):
    """A SOAP 1.2 fault to send back: env code, ONVIF subcodes (outermost first), reason."""

    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason

    @property
    def http_status(self) -> int:
        """Return the HTTP status the SOAP 1.2 HTTP binding prescribes for this fault."""
        return 400 if self.code == "env:Sender" else 500


def not_authorized() -> SoapFault:
    """Return the fault a camera sends when WS-Security authentication fails."""
    return SoapFault("env:Sender", ("ter:NotAuthorized",), "Sender not Authorized")


def action_not_supported(action: str) -> SoapFault:
    """Return the fault for an operation this device does not implement."""
    return SoapFault(
        "env:Receiver", ("ter:ActionNotSupported",), f"Optional Action Not Implemented: {action}"
    )


def invalid_arg(subcode: str, reason: str) -> SoapFault:
    """Return an InvalidArgVal fault with a more specific ONVIF subcode."""
    return SoapFault("env:Sender", ("ter:InvalidArgVal", f"ter:{subcode}"), reason)


def not_well_formed(reason: str) -> SoapFault:
    """Return the fault for a request that is not a well-formed SOAP 1.2 envelope."""
    return SoapFault("env:Sender", ("ter:WellFormed",), reason)


@dataclass(frozen=True)
class SoapRequest:
    """A parsed request envelope: its optional header and the operation element of its body."""

    header: XmlElement | None
    operation: XmlElement

    @property
    def namespace(self) -> str:
        """Return the namespace URI of the requested operation."""
        return _split(self.operation.tag)[0]

    @property
    def action(self) -> str:
        """Return the local name of the requested operation."""
        return _split(self.operation.tag)[1]


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def parse_request(body: bytes) -> SoapRequest:
    """Parse a SOAP 1.2 request, refusing DTDs, entities and external references."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise not_well_formed(f"Forbidden XML construct: {type(exc).__name__}") from exc
    except SafeET.ParseError as exc:
        raise not_well_formed(f"Malformed XML: {exc}") from exc
    if root.tag != f"{{{ENV}}}Envelope":
        raise not_well_formed("Root element is not a SOAP 1.2 Envelope")
    header = root.find(f"{{{ENV}}}Header")
    body_el = root.find(f"{{{ENV}}}Body")
    if body_el is None or len(body_el) != 1:
        raise not_well_formed("SOAP Body must hold exactly one operation element")
    return SoapRequest(header=header, operation=body_el[0])


def child_text(parent: XmlElement, namespace: str, name: str) -> str | None:
    """Return the stripped text of a direct child element, or None if absent."""
    child = parent.find(f"{{{namespace}}}{name}")
    if child is None:
        return None
    return (child.text or "").strip()


def envelope(body: Element, header: Element | None = None) -> Element:
    """Wrap a body element in a SOAP 1.2 envelope declaring the ONVIF prefixes."""
    attrs = {f"xmlns:{prefix}": uri for prefix, uri in NAMESPACES.items()}
    return el("env:Envelope", header, el("env:Body", body), attrs=attrs)


def fault_element(fault: SoapFault) -> Element:
    """Return the env:Fault element of a fault, nesting its subcodes."""
    subcode: Element | None = None
    for value in reversed(fault.subcodes):
        subcode = el("env:Subcode", el("env:Value", value), subcode)
    return el(
        "env:Fault",
        el("env:Code", el("env:Value", fault.code), subcode),
        el("env:Reason", el("env:Text", fault.reason, attrs={"xml:lang": "en"})),
    )


def render(node: Element) -> bytes:
    """Serialise an envelope to UTF-8 bytes with an XML declaration."""
    return (XML_DECLARATION + serialize(node)).encode("utf-8")
