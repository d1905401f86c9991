"""aid domain: policy packs (YAML data), the eligibility engine, the /aid dialog and `bot.py aid`.

Public interface:
    chatbot.aid.pack.load_pack(id) / pack_for(pack_id, on) / load_all()   packs (PackError when invalid)
    chatbot.aid.engine.evaluate(profile, pack, on) -> list[Result]        the pure engine
    chatbot.aid.engine.open_questions(profile, pack, on)                  facts that can change the answer
    chatbot.aid.api.*                                                     helpers for other domains
"""
