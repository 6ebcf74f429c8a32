// Package script runs the programs keepalived.conf names (vrrp_script
// checks, notify scripts) the way keepalived 2.2.7 runs them: the argv
// config already split, no shell, in a process group of their own that is
// killed as a whole at the timeout, as a given user and group. It also
// implements enable_script_security's checks.
package script
