#!/usr/bin/env bash
# The first statement on a new connection, cold and after the pool's warm-up
# (backend/src/db.rs, WARM_UP): the list of integrations as the Contmax admin with the
# claims of their latest session, on a database the release server made and
# scripts/bench/seed.sql loaded (sign in once first, e.g. by scripts/bench/measure.py).
#
#   scripts/bench/first-statement.sh <database URL> [tries]
#
# Prints, per try, the statement's time the first and the second time on that connection.
set -euo pipefail
cd "$(dirname "$0")/../.."
DB=$1
TRIES=${2:-7}
P=(psql "$DB" -qAtX -v ON_ERROR_STOP=1)
CID=$("${P[@]}" -c "select id from public.organizacoes where slug = 'contmax'")
CLAIMS=$("${P[@]}" -c "select json_build_object('sub', u.id, 'role', 'authenticated',
  'aud', 'authenticated', 'email', u.email, 'sid', s.id)::text
  from auth.users u join public.portal_sessions s on s.user_id = u.id
  where u.email = 'admin@contmax.com.br' and s.revoked_at is null
  order by s.created_at desc limit 1")
[ -n "$CLAIMS" ] || { echo "no session of admin@contmax.com.br: sign in first" >&2; exit 1; }
# The statements as the code has them: the warm-up, and list_for_tenant's query.
WARM=$(python3 -c "
import re
s = open('backend/src/db.rs').read()
print(re.search(r'const WARM_UP: &str = r#\"(.*?)\"#;', s, re.S).group(1))")
LIST=$(python3 -c "
import re, sys
s = open('backend/src/integrations.rs').read()
q = re.search(r'pub async fn list_for_tenant.*?r#\"(.*?)\"#', s, re.S).group(1)
q = re.sub(r' as \"[^\"]*\"', '', q)
print(q.replace('\$1', \"'%s'::uuid\" % sys.argv[1]))" "$CID")
once() {
  {
    [ "$1" = warm ] && printf '%s\nrollback;\n' "$WARM"
    echo "begin;"
    echo "select set_config('request.jwt.claims', :'claims', true), set_config('role', 'authenticated', true) \\g /dev/null"
    echo "\\timing on"
    echo "$LIST \\g /dev/null"
    echo "$LIST \\g /dev/null"
    echo "rollback;"
  } | "${P[@]}" -v claims="$CLAIMS" 2>&1 | grep -o "Time: [0-9.]*" | head -2 | awk '{printf "%s ms  ", $2}'
  echo
}
for _ in $(seq 1 "$TRIES"); do
  printf 'cold: '; once cold
  printf 'warm: '; once warm
done
