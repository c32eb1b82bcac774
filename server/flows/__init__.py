"""Steps and rules that need two domains at once (an audit and its NCs, an asset and
its inspection runs). They live here so that the domains below import only downwards:
audits know nothing of findings or assets; findings and assets know audits."""
