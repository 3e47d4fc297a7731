"""The real TrainingComponentService XSD set as one ``lxml.etree.XMLSchema`` (for validating replies).

The five XSDs (real-data/tga/wsdl/TrainingComponentService-production-2013/) import each other by
relative ``schemaLocation``; a small wrapper schema imports ``TrainingComponentService.xsd`` by its file
URI, and libxml2 resolves the rest beside it. Nothing is fetched from the network.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from skillstream_runtime.realdata import real_data

_XS = "http://www.w3.org/2001/XMLSchema"
_TNS = "http://training.gov.au/services/"


@functools.cache
def service_schema(wsdl_dir: Path | None = None) -> etree.XMLSchema:
    """The XSD set of the folder holding ``TrainingComponentService.xsd`` (default: the real one).

    Raises:
        lxml.etree.XMLSchemaParseError: the XSDs do not form a valid schema.
        RealDataNotFound: no real-data folder.
    """
    folder = wsdl_dir or real_data("tga", "wsdl", "TrainingComponentService-production-2013")
    wrapper = etree.Element(f"{{{_XS}}}schema", nsmap={"xs": _XS})
    wrapper.set("targetNamespace", "urn:skillstream:tga-sandbox:xsd-set")
    imported = etree.SubElement(wrapper, f"{{{_XS}}}import")
    imported.set("namespace", _TNS)
    imported.set("schemaLocation", (folder / "TrainingComponentService.xsd").resolve().as_uri())
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    document = etree.fromstring(etree.tostring(wrapper), parser, base_url=(folder / "wrapper.xsd").resolve().as_uri())
    return etree.XMLSchema(document)


__all__ = ["service_schema"]
