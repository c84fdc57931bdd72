"""eDiscovery productions: documents in RSMF, HTML, PDF and a Concordance load file, with
Bates numbers kept per matter and a signed manifest a recipient checks without the
archive key.

``produce`` writes one; ``catalog`` lists them; ``manifest.verify`` checks a folder;
``rsmf_check`` validates RSMF files; every SQL statement is in ``queries``.
"""
