// Test helpers: process launcher and SIPp runner (being built).
