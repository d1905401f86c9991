"""Channel types, one package each (console, telegram, wechat), listed by code in `registry`."""
