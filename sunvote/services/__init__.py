"""Use cases: each public function loads, lets the domain decide, writes, in one transaction."""
