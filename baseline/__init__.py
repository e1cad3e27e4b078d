"""A secure AWS landing zone on the AWS CDK: the Well-Architected Security Pillar as code."""

__version__ = "0.1.0"
