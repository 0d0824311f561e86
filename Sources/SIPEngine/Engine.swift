// SIPEngine (being built).
import CPJSIP
