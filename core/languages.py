"""Language codes every domain reads: ISO 639-1 <-> ISO 639-3, and the ISO 639-2/B codes some corpora write (`ger`,
`fre`). One table for nlp (translation pairs, Apertium packages) and speech (Whisper's languages)."""

from __future__ import annotations

__all__ = ["ISO3", "ISO1", "ISO_639_2B", "ALIASES", "iso1"]

# ISO 639-1 -> ISO 639-3, for every ISO 639-1 code (ISO_639_1) and sh: Apertium's Debian packages (apertium-eng-spa),
# NLLB and multi-target Marian models name languages by the latter. A macrolanguage gets its macrolanguage code (ar ara,
# fa fas, no nor, zh zho); bh (Bihari) is a group of languages with no ISO 639-3 code, so it has none here.
ISO3 = dict(pair.split(":") for pair in """aa:aar ab:abk ae:ave af:afr ak:aka am:amh an:arg ar:ara as:asm av:ava ay:aym
az:aze ba:bak be:bel bg:bul bi:bis bm:bam bn:ben bo:bod br:bre bs:bos ca:cat ce:che ch:cha co:cos cr:cre cs:ces cu:chu
cv:chv cy:cym da:dan de:deu dv:div dz:dzo ee:ewe el:ell en:eng eo:epo es:spa et:est eu:eus fa:fas ff:ful fi:fin fj:fij
fo:fao fr:fra fy:fry ga:gle gd:gla gl:glg gn:grn gu:guj gv:glv ha:hau he:heb hi:hin ho:hmo hr:hrv ht:hat hu:hun hy:hye
hz:her ia:ina id:ind ie:ile ig:ibo ii:iii ik:ipk io:ido is:isl it:ita iu:iku ja:jpn jv:jav ka:kat kg:kon ki:kik kj:kua
kk:kaz kl:kal km:khm kn:kan ko:kor kr:kau ks:kas ku:kur kv:kom kw:cor ky:kir la:lat lb:ltz lg:lug li:lim ln:lin lo:lao
lt:lit lu:lub lv:lav mg:mlg mh:mah mi:mri mk:mkd ml:mal mn:mon mr:mar ms:msa mt:mlt my:mya na:nau nb:nob nd:nde ne:nep
ng:ndo nl:nld nn:nno no:nor nr:nbl nv:nav ny:nya oc:oci oj:oji om:orm or:ori os:oss pa:pan pi:pli pl:pol ps:pus pt:por
qu:que rm:roh rn:run ro:ron ru:rus rw:kin sa:san sc:srd sd:snd se:sme sg:sag sh:hbs si:sin sk:slk sl:slv sm:smo sn:sna
so:som sq:sqi sr:srp ss:ssw st:sot su:sun sv:swe sw:swa ta:tam te:tel tg:tgk th:tha ti:tir tk:tuk tl:tgl tn:tsn to:ton
tr:tur ts:tso tt:tat tw:twi ty:tah ug:uig uk:ukr ur:urd uz:uzb ve:ven vi:vie vo:vol wa:wln wo:wol xh:xho yi:yid yo:yor
za:zha zh:zho zu:zul""".split())
ISO1 = {three: one for one, three in ISO3.items()}
# ISO 639-2/B (bibliographic) codes -> their ISO 639-3 / 639-2/T codes (`ger` -> `deu`): Common Voice, MARC and some
# older corpora write these.
ISO_639_2B = dict(pair.split(":") for pair in """alb:sqi arm:hye baq:eus bur:mya chi:zho cze:ces dut:nld fre:fra geo:kat
ger:deu gre:ell ice:isl mac:mkd mao:mri may:msa per:fas rum:ron slo:slk tib:bod wel:cym""".split())


# Codes that name a language another way: ISO 639-1 codes withdrawn but still written by Java/Android locales (iw, in,
# ji, jw, mo), BCP-47's fil, and the ISO 639-3 codes of the main member of a macrolanguage (arb Standard Arabic for ar,
# cmn Mandarin for zh, swh Swahili, pbt Pashto, npi Nepali, khk Mongolian, ekk Estonian, lvs Latvian, pes Persian...).
ALIASES = dict(pair.split(":") for pair in """iw:he in:id ji:yi jw:jv mo:ro fil:tl arb:ar cmn:zh swh:sw pbt:ps pbu:ps
npi:ne khk:mn ekk:et lvs:lv pes:fa prs:fa zsm:ms uzn:uz azj:az ydd:yi plt:mg als:sq""".split())


def iso1(code: str) -> str | None:
    """The ISO 639-1 code of an ISO 639-1, 639-3 or 639-2/B code, or of an alias (lower-case, no region), None when
    none is known.

    >>> iso1("spa"), iso1("ger"), iso1("en"), iso1("cmn"), iso1("iw"), iso1("fil"), iso1("ast")
    ('es', 'de', 'en', 'zh', 'he', 'tl', None)
    """
    if code in ISO3:
        return code
    return ALIASES.get(code) or ISO1.get(ISO_639_2B.get(code, code))
