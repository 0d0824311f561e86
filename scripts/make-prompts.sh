#!/usr/bin/env bash
# Generates Omnigate's voice prompts with espeak-ng and sox: 8 kHz, mono,
# 16-bit WAV, the format the media bridge runs at, so no call resamples.
# Skips prompts that already exist.
#
#   scripts/make-prompts.sh [--help] [DIR]   (default: /usr/local/share/omnigate/prompts)
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0
fi
DIR=${1:-${OMNIGATE_PREFIX:-/usr/local}/share/omnigate/prompts}
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO mkdir -p "$DIR"

# name|text — names follow Asterisk's core sound names where one exists.
PROMPTS=(
    "welcome|Welcome. Thank you for calling."
    "menu|For sales, press 1. For support, press 2. To leave a message, press 3."
    "pls-hold-while-try|Please hold while we connect you to an agent."
    "queue-thankyou|Thank you for holding. Your call is important to us."
    "vm-intro|Nobody is available to take your call. Please leave a message after the tone."
    "vm-goodbye|Your message has been saved. Goodbye."
    "closed|Our office is closed. Our hours are nine to five, Monday to Friday."
    "invalid|That is not a valid choice."
    "goodbye|Goodbye."
    "beep|"
    # Queue announcements (a queue's announce_frequency) and agents' feature codes.
    "queue-youarenext|You are now first in line."
    "queue-thereare|There are"
    "queue-callswaiting|calls waiting."
    "queue-holdtime|The estimated hold time is"
    "queue-minute|minute."
    "queue-minutes|minutes."
    "agent-loginok|You are logged in."
    "agent-loggedoff|You are logged out."
    "agent-paused|You are paused."
    "agent-ready|You are ready for calls."
)
# Numbers, as Asterisk's digits/N: what the announcements count with.
for n in $(seq 0 20) 30 40 50 60 70 80 90; do PROMPTS+=("digits/$n|$n"); done
made=0
for entry in "${PROMPTS[@]}"; do
    name=${entry%%|*}; text=${entry#*|}
    out="$DIR/$name.wav"
    [ -s "$out" ] && continue
    $SUDO mkdir -p "$(dirname "$out")"
    tmp=$(mktemp --suffix=.wav)
    if [ -z "$text" ]; then
        sox -n -r 8000 -c 1 -b 16 "$tmp" synth 0.25 sine 1000 gain -6
    else
        espeak-ng -v en-us -s 150 -w "$tmp.raw.wav" "$text"
        sox "$tmp.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp" rate -h
        rm -f "$tmp.raw.wav"
    fi
    $SUDO install -m 0644 "$tmp" "$out"; rm -f "$tmp"
    made=$((made + 1))
done
echo "[prompts] ${#PROMPTS[@]} prompts in $DIR ($made generated)" >&2
