"""XML namespaces of the ``TrainingComponentService`` SOAP 1.1 messages, shared by requests and replies.

Sources: the real 2013 WSDL/XSDs (``real-data/tga/wsdl/TrainingComponentService-production-2013/``;
TGA-FORMAT.md §1.2-§1.3): the WSDL's policy asks for a WS-Security 1.0 UsernameToken
(``sp:WssUsernameToken10``), and ``TrainingComponentServiceSystem.xsd`` holds WCF's ``DateTimeOffset``.
"""

from __future__ import annotations

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
TGA = "http://training.gov.au/services/"  # the WSDL targetNamespace and the XSD's data contracts
SYSTEM = "http://schemas.datacontract.org/2004/07/System"  # WCF DateTimeOffset's DateTime + OffsetMinutes
XSI = "http://www.w3.org/2001/XMLSchema-instance"

__all__ = ["SOAP_ENV", "SYSTEM", "TGA", "WSSE", "XSI"]
