"""Skillstream developer stack: ``skillstream up``, embedded servers, the demo runner, the operator CLI."""
