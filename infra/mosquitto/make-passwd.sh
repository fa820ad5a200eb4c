#!/bin/sh
# Writes Mosquitto's password file (and its ACL, rendered from a template) from the environment, at deploy time:
#
#     make-passwd.sh PASSWD_FILE [ACL_TEMPLATE ACL_FILE]
#
# Two accounts: the producer (the agent) MQTT_USERNAME / MQTT_PASSWORD, and the recorder RECORDER_MQTT_USERNAME /
# RECORDER_MQTT_PASSWORD. All four must be set and non-empty. The ACL template (infra/mosquitto/acl) names the
# recorder `${RECORDER_MQTT_USERNAME}`: the rendered ACL names the account this script just created, so the two can
# never disagree (a recorder whose name the ACL does not know would subscribe, be granted nothing, and record nothing).
#
# docker-compose.yml runs it once before the broker starts (service mosquitto-auth, in the eclipse-mosquitto image);
# it runs the same on any machine with mosquitto_passwd and a POSIX sh (tests/test_broker_security.py).
#
# Secrets: never printed, never on a command line. `mosquitto_passwd -b FILE USER PASSWORD` would put the password in
# the arguments of a process that `ps` shows while it hashes; instead mosquitto_passwd reads it from its standard
# input (its prompt reads stdin when stdin is not a terminal), fed by a here-document, which the shell writes itself
# (through a pipe in BusyBox's sh and dash; bash may use a short-lived private temporary file).
# The files are written under a private umask, then moved into place, so a failed run leaves no half-written file.
# Errors go to stderr as one line, exit status 2.

set -eu

me=make-passwd.sh
fail() {
    printf '%s: %s\n' "$me" "$1" >&2
    exit 2
}

[ $# -eq 1 ] || [ $# -eq 3 ] || fail "usage: $me PASSWD_FILE [ACL_TEMPLATE ACL_FILE]"

missing=
for var in MQTT_USERNAME MQTT_PASSWORD RECORDER_MQTT_USERNAME RECORDER_MQTT_PASSWORD; do
    eval "value=\${$var:-}"
    [ -n "$value" ] || missing="$missing${missing:+, }$var"
done
[ -z "$missing" ] || fail "set $missing (unset or empty; see the header of infra/docker-compose.yml)"
value=

# User names end up in topics (`.../events/<producer>/...`, the ACL's %u) and in the ACL: keep them plain.
for var in MQTT_USERNAME RECORDER_MQTT_USERNAME; do
    eval "value=\$$var"
    case $value in
        *[!A-Za-z0-9._-]*) fail "$var may hold only letters, digits, '.', '_' and '-'" ;;
    esac
done
[ "$MQTT_USERNAME" != "$RECORDER_MQTT_USERNAME" ] || fail "MQTT_USERNAME and RECORDER_MQTT_USERNAME must differ"

newline='
'
carriage_return=$(printf '\r')
for var in MQTT_PASSWORD RECORDER_MQTT_PASSWORD; do
    eval "value=\$$var"
    case $value in
        *"$newline"* | *"$carriage_return"*) fail "$var must be a single line" ;;
    esac
done
value=

umask 077
passwd_tmp=$(mktemp "$(dirname "$1")/.passwd.XXXXXX" 2>/dev/null) || fail "cannot write in the folder of $1"
acl_tmp=
trap 'rm -f ${passwd_tmp:+"$passwd_tmp"} ${acl_tmp:+"$acl_tmp"}' EXIT

# `mosquitto_passwd [-c] FILE USER` asks for the password twice; its prompt reads stdin when stdin is no terminal.
hash_password() { # $1: user name, $2: password, then mosquitto_passwd's options
    user=$1 password=$2
    shift 2
    mosquitto_passwd "$@" "$passwd_tmp" "$user" >/dev/null <<EOF
$password
$password
EOF
}
hash_password "$MQTT_USERNAME" "$MQTT_PASSWORD" -c || fail "mosquitto_passwd failed for MQTT_USERNAME"
hash_password "$RECORDER_MQTT_USERNAME" "$RECORDER_MQTT_PASSWORD" ||
    fail "mosquitto_passwd failed for RECORDER_MQTT_USERNAME"
password=
[ "$(grep -c ':' "$passwd_tmp")" -eq 2 ] || fail "mosquitto_passwd did not write both accounts"

if [ $# -eq 3 ]; then
    [ -r "$2" ] || fail "cannot read the ACL template $2"
    acl_tmp=$(mktemp "$(dirname "$3")/.acl.XXXXXX" 2>/dev/null) || fail "cannot write in the folder of $3"
    # The name holds no sed metacharacter (checked above).
    sed 's/\${RECORDER_MQTT_USERNAME}/'"$RECORDER_MQTT_USERNAME"'/g' "$2" >"$acl_tmp"
    grep -q "^user $RECORDER_MQTT_USERNAME\$" "$acl_tmp" || fail "$2 has no line 'user \${RECORDER_MQTT_USERNAME}'"
    if grep -q '\${' "$acl_tmp"; then fail "$2 holds a placeholder other than \${RECORDER_MQTT_USERNAME}"; fi
fi

# Mosquitto 2 reads these files after dropping root for its own user (uid 1883 in the eclipse-mosquitto image) and
# warns about files that user does not own or that others can read: hand them over where that user exists.
if [ "$(id -u)" -eq 0 ] && id -u mosquitto >/dev/null 2>&1; then
    chown mosquitto "$passwd_tmp" ${acl_tmp:+"$acl_tmp"}
fi
chmod 600 "$passwd_tmp" ${acl_tmp:+"$acl_tmp"}
if [ -n "$acl_tmp" ]; then
    mv -f "$acl_tmp" "$3"
    acl_tmp=
fi
mv -f "$passwd_tmp" "$1"
passwd_tmp=
echo "$me: wrote $1 ($MQTT_USERNAME, $RECORDER_MQTT_USERNAME)${3:+ and $3}"
