# usage: v.sh '<json variants>'
cd /work/main && V="$1" npx tsx .scratch-enc/tune.ts 2>&1 | grep -v "npm warn" | tr -d '\n' | sed 's/}{/}\n{/g; s/  */ /g'; echo
