// Dialplan: Omnigate's Asterisk-compatible dialplan language (being built).
