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
)
made=0
for entry in "${PROMPTS[@]}"; do
    name=${entry%%|*}; text=${entry#*|}
    out="$DIR/$name.wav"
    [ -s "$out" ] && continue
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
