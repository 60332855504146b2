#!/usr/bin/env bash
# Starts Apache httpd mod_dav (Debian apache2) privately on loopback, for bench.sh's side-by-side
# figures: apache.sh start DIR PORT USER PASSWORD  |  apache.sh stop DIR
# The DAV root is http://127.0.0.1:PORT/dav/ with Basic authentication, the
# same shape as depot's (apr1-MD5 htpasswd: cheap per request, like depot's credential cache);
# nothing outside DIR is written.
set -euo pipefail
cmd="${1:?start|stop}"; dir="${2:?DIR}"
mods=/usr/lib/apache2/modules
case "$cmd" in
  start)
    port="${3:?PORT}"; user="${4:?USER}"; pass="${5:?PASSWORD}"
    mkdir -p "$dir/dav" "$dir/lock" "$dir/logs"
    htpasswd -bcm "$dir/htpasswd" "$user" "$pass" >/dev/null 2>&1
    # apache2 drops privileges to www-data when started as root: it must own the tree.
    id www-data >/dev/null 2>&1 && chown -R www-data: "$dir/dav" "$dir/lock"
    cat > "$dir/httpd.conf" <<EOF
ServerRoot "$dir"
ServerName 127.0.0.1
PidFile "$dir/httpd.pid"
Listen 127.0.0.1:$port
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule dav_module $mods/mod_dav.so
LoadModule dav_fs_module $mods/mod_dav_fs.so
LoadModule alias_module $mods/mod_alias.so
User www-data
Group www-data
ErrorLog "$dir/logs/error.log"
LogLevel warn
KeepAlive On
MaxKeepAliveRequests 0
StartServers 2
ServerLimit 16
ThreadsPerChild 25
MaxRequestWorkers 400
DavLockDB "$dir/lock/DavLock"
Alias /dav "$dir/dav"
<Directory "$dir/dav">
  Dav On
  AuthType Basic
  AuthName "dav"
  AuthUserFile "$dir/htpasswd"
  Require valid-user
</Directory>
EOF
    /usr/sbin/apache2 -f "$dir/httpd.conf" -k start
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    echo "http://127.0.0.1:$port/dav"
    ;;
  stop)
    [[ -f "$dir/httpd.pid" ]] && kill "$(cat "$dir/httpd.pid")" 2>/dev/null || true
    ;;
esac
