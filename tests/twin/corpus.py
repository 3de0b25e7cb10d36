"""The differential corpus: SPARQL queries over the shop and plant data sets.

Each entry is (id, data set, query, ordered). ``ordered`` queries have an ORDER BY that is a
total order (it ends with a unique variable), so the row order is compared too; the others
are compared as multisets. Hand-written entries cover every algebra operator and function
family; `generated()` adds combinations of classes, attributes, comparisons, relationships
and aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOP_PREFIXES = """PREFIX s: <http://ex.org/shop#>
PREFIX person: <http://ex.org/shop#Person/>
PREFIX emp: <http://ex.org/shop#Employee/>
PREFIX dept: <http://ex.org/shop#Department/>
PREFIX cust: <http://ex.org/shop#Customer/>
PREFIX ord: <http://ex.org/shop#Order/>
PREFIX prod: <http://ex.org/shop#Product/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""
PLANT_PREFIXES = """PREFIX p: <http://ex.org/plant#>
PREFIX site: <http://ex.org/plant#Site/>
PREFIX sensor: <http://ex.org/plant#Sensor/>
PREFIX rd: <http://ex.org/plant#Reading/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
C3 = "<http://ex.org/shop/data/Customer/3>"
E1 = "<http://ex.org/shop/data/Person/E%2F001>"


@dataclass(frozen=True)
class Case:
    """One corpus query."""

    id: str
    dataset: str
    query: str
    ordered: bool = False

    @property
    def text(self) -> str:
        return (SHOP_PREFIXES if self.dataset == "shop" else PLANT_PREFIXES) + self.query


SHOP: list[tuple[str, str, bool]] = [
    # --- BGPs
    ("bgp-class", "SELECT ?c WHERE { ?c a s:Customer }", False),
    ("bgp-attr", "SELECT ?c ?n WHERE { ?c a s:Customer ; cust:cname ?n }", False),
    ("bgp-attrs", "SELECT ?p ?n ?a WHERE { ?p a s:Person ; person:name ?n ; person:age ?a }",
     False),
    ("bgp-subclass", "SELECT ?e ?n WHERE { ?e a s:Employee ; person:name ?n }", False),
    ("bgp-no-type", "SELECT ?e ?s ?d WHERE { ?e emp:salary ?s ; emp:dept ?d }", False),
    ("bgp-reference", "SELECT ?o ?c WHERE { ?o ord:customer ?c }", False),
    ("bgp-link", "SELECT ?o ?p WHERE { ?o ord:items ?p }", False),
    ("bgp-join", "SELECT ?o ?city WHERE { ?o ord:customer ?c . ?c cust:city ?city }", False),
    ("bgp-two-hop", "SELECT ?o ?t WHERE { ?o ord:approver ?e . ?e emp:dept ?d . "
                    "?d dept:title ?t }", False),
    ("bgp-link-join", "SELECT ?o ?l ?q WHERE { ?o ord:items ?p . ?p prod:label ?l . "
                      "?o ord:qty ?q }", False),
    ("bgp-const-subject", f"SELECT ?p ?o WHERE {{ {C3} ?p ?o }}", False),
    ("bgp-const-subject-emp", f"SELECT ?p ?o WHERE {{ {E1} ?p ?o }}", False),
    ("bgp-const-object", f"SELECT ?o WHERE {{ ?o ord:customer {C3} }}", False),
    ("bgp-const-string", 'SELECT ?c WHERE { ?c cust:city "Oslo" }', False),
    ("bgp-const-int", "SELECT ?o WHERE { ?o ord:qty 3 }", False),
    ("bgp-const-bool", "SELECT ?o ?c WHERE { ?o ord:customer ?c . ?c cust:vip true }", False),
    ("bgp-everything", "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", False),
    ("bgp-types", "SELECT ?s ?t WHERE { ?s a ?t }", False),
    ("bgp-distinct-pred", "SELECT DISTINCT ?p WHERE { ?s ?p ?o }", False),
    ("bgp-subject-of-type", "SELECT ?x ?n WHERE { ?x person:name ?n . ?x a s:Employee }",
     False),
    ("bgp-shared-object", "SELECT ?a ?b WHERE { ?a ord:customer ?c . ?b ord:customer ?c . "
                          "FILTER(?a != ?b) }", False),
    ("bgp-bnode", "SELECT ?n WHERE { [] cust:cname ?n }", False),
    ("bgp-unknown-pred", "SELECT ?s WHERE { ?s s:nothing ?o }", False),
    ("bgp-unknown-subject", "SELECT ?p WHERE { <http://elsewhere.org/x> ?p ?o }", False),
    ("bgp-bad-key", "SELECT ?p WHERE { <http://ex.org/shop/data/Customer/abc> ?p ?o }", False),
    ("bgp-wrong-type", 'SELECT ?c WHERE { ?c cust:cid "3" }', False),
    ("bgp-var-pred-const-obj", 'SELECT ?s ?p WHERE { ?s ?p "Oslo" }', False),
    ("bgp-inverse-lookup", f"SELECT ?s ?p WHERE {{ ?s ?p {C3} }}", False),
    ("bgp-date-const", 'SELECT ?c WHERE { ?c cust:joined ?d . ?c2 cust:joined ?d . '
                       'FILTER(?c != ?c2) }', False),
    # --- FILTER: comparisons
    ("f-int-gt", "SELECT ?o ?q WHERE { ?o ord:qty ?q FILTER(?q > 5) }", False),
    ("f-dec-ge-int", "SELECT ?o ?t WHERE { ?o ord:total ?t FILTER(?t >= 500) }", False),
    ("f-dec-lt-dec", "SELECT ?o ?t WHERE { ?o ord:total ?t FILTER(?t < 100.5) }", False),
    ("f-double-gt", "SELECT ?p ?pr WHERE { ?p prod:price ?pr FILTER(?pr > 1e2) }", False),
    ("f-double-int", "SELECT ?p ?pr WHERE { ?p prod:price ?pr FILTER(?pr <= 250) }", False),
    ("f-str-eq", 'SELECT ?c WHERE { ?c cust:city ?x FILTER(?x = "Bergen") }', False),
    ("f-str-ne", 'SELECT ?c ?x WHERE { ?c cust:city ?x FILTER(?x != "Bergen") }', False),
    ("f-str-lt", 'SELECT ?c ?x WHERE { ?c cust:city ?x FILTER(?x < "P") }', False),
    ("f-str-unicode", 'SELECT ?c ?x WHERE { ?c cust:city ?x FILTER(?x > "Z") }', False),
    ("f-and", "SELECT ?o WHERE { ?o ord:qty ?q ; ord:total ?t FILTER(?q > 3 && ?t < 300) }",
     False),
    ("f-or", "SELECT ?o WHERE { ?o ord:qty ?q ; ord:total ?t FILTER(?q = 1 || ?t > 900) }",
     False),
    ("f-not", "SELECT ?o WHERE { ?o ord:qty ?q FILTER(!(?q < 5)) }", False),
    ("f-in", "SELECT ?o ?q WHERE { ?o ord:qty ?q FILTER(?q IN (1, 3, 7)) }", False),
    ("f-not-in", 'SELECT ?c ?x WHERE { ?c cust:city ?x FILTER(?x NOT IN ("Oslo", "Bergen")) }',
     False),
    ("f-entity-eq", f"SELECT ?o WHERE {{ ?o ord:customer ?c FILTER(?c = {C3}) }}", False),
    ("f-entity-ne", f"SELECT ?o WHERE {{ ?o ord:customer ?c FILTER(?c != {C3}) }}", False),
    ("f-bool", "SELECT ?c WHERE { ?c cust:vip ?v FILTER(?v = true) }", False),
    ("f-bool-ebv", "SELECT ?c WHERE { ?c cust:vip ?v FILTER(?v) }", False),
    ("f-date", 'SELECT ?c WHERE { ?c cust:joined ?d FILTER(?d < "2021-01-01"^^xsd:date) }',
     False),
    ("f-datetime", "SELECT ?o WHERE { ?o ord:placed ?d "
                   'FILTER(?d > "2024-06-01T00:00:00Z"^^xsd:dateTime) }', False),
    ("f-arith", "SELECT ?o WHERE { ?o ord:qty ?q FILTER(?q * 2 + 1 > 11) }", False),
    ("f-var-var", "SELECT ?a ?b WHERE { ?a ord:qty ?x . ?b ord:qty ?y . ?a ord:customer ?c . "
                  "?b ord:customer ?c FILTER(?x < ?y) }", False),
    ("f-cross-type", 'SELECT ?c WHERE { ?c cust:cid ?i FILTER(?i = "3") }', False),
    ("f-unbound-var", "SELECT ?c WHERE { ?c a s:Customer FILTER(?nothing > 3) }", False),
    # --- FILTER: functions
    ("fn-contains", 'SELECT ?c ?n WHERE { ?c cust:cname ?n FILTER(CONTAINS(?n, "ta")) }', False),
    ("fn-contains-escape", 'SELECT ?c WHERE { ?c cust:city ?x FILTER(CONTAINS(?x, "%b_")) }',
     False),
    ("fn-strstarts", 'SELECT ?c ?n WHERE { ?c cust:cname ?n FILTER(STRSTARTS(?n, "al")) }',
     False),
    ("fn-strends", 'SELECT ?c ?n WHERE { ?c cust:cname ?n FILTER(STRENDS(?n, "1")) }', False),
    ("fn-regex", 'SELECT ?c ?n WHERE { ?c cust:cname ?n FILTER(REGEX(?n, "^(al|be)")) }', False),
    ("fn-regex-i", 'SELECT ?p ?n WHERE { ?p person:name ?n FILTER(REGEX(?n, "^delta", "i")) }',
     False),
    ("fn-str", f'SELECT ?o WHERE {{ ?o ord:customer ?c FILTER(STR(?c) = STR({C3})) }}', False),
    ("fn-lang", 'SELECT ?c WHERE { ?c cust:city ?x FILTER(LANG(?x) = "") }', False),
    ("fn-datatype", "SELECT ?o ?t WHERE { ?o ord:total ?t FILTER(DATATYPE(?t) = xsd:decimal) }",
     False),
    ("fn-isiri", "SELECT ?s ?o WHERE { ?s ord:customer ?o FILTER(isIRI(?o)) }", False),
    ("fn-isliteral", "SELECT ?s ?o WHERE { ?s cust:city ?o FILTER(isLiteral(?o)) }", False),
    ("fn-strlen", "SELECT ?c ?x (STRLEN(?x) AS ?l) WHERE { ?c cust:city ?x }", False),
    ("fn-ucase", "SELECT ?c (UCASE(?x) AS ?u) (LCASE(?x) AS ?l) WHERE { ?c cust:city ?x }",
     False),
    ("fn-substr", "SELECT ?c (SUBSTR(?x, 2, 3) AS ?s) WHERE { ?c cust:city ?x }", False),
    ("fn-concat", 'SELECT ?c (CONCAT(?x, "/", ?n) AS ?s) WHERE { ?c cust:city ?x ; '
                  'cust:cname ?n }', False),
    ("fn-replace", 'SELECT ?c (REPLACE(?x, "o", "0") AS ?s) WHERE { ?c cust:city ?x }', False),
    ("fn-strbefore", 'SELECT ?c (STRBEFORE(?n, "-") AS ?a) (STRAFTER(?n, "-") AS ?b) '
                     'WHERE { ?c cust:cname ?n }', False),
    ("fn-abs", "SELECT ?p (ABS(?pr - 250) AS ?d) WHERE { ?p prod:price ?pr }", False),
    ("fn-round", "SELECT ?o (CEIL(?t) AS ?c) (FLOOR(?t) AS ?f) WHERE { ?o ord:total ?t }",
     False),
    ("fn-year", "SELECT ?o (YEAR(?d) AS ?y) (MONTH(?d) AS ?m) (DAY(?d) AS ?dd) "
                "WHERE { ?o ord:placed ?d }", False),
    ("fn-hours", "SELECT ?o (HOURS(?d) AS ?h) (MINUTES(?d) AS ?mi) WHERE { ?o ord:placed ?d }",
     False),
    ("fn-date-year", "SELECT ?c WHERE { ?c cust:joined ?d FILTER(YEAR(?d) = 2022) }", False),
    ("fn-exists", "SELECT ?c WHERE { ?c a s:Customer FILTER EXISTS { ?o ord:customer ?c } }",
     False),
    ("fn-not-exists", "SELECT ?c WHERE { ?c a s:Customer "
                      "FILTER NOT EXISTS { ?o ord:customer ?c } }", False),
    ("fn-sameterm", f"SELECT ?o WHERE {{ ?o ord:customer ?c FILTER(sameTerm(?c, {C3})) }}",
     False),
    ("fn-if", 'SELECT ?o (IF(?q > 4, "big", "small") AS ?s) WHERE { ?o ord:qty ?q }', False),
    ("fn-coalesce", "SELECT ?p (COALESCE(?a, -1) AS ?x) WHERE { ?p a s:Person "
                    "OPTIONAL { ?p person:age ?a } }", False),
    ("fn-cast", 'SELECT ?o (xsd:integer(?t) AS ?i) WHERE { ?o ord:qty ?t }', False),
    ("fn-cast-string", "SELECT ?o (STR(?q) AS ?s) WHERE { ?o ord:qty ?q }", False),
    ("fn-isnumeric", "SELECT ?s ?o WHERE { ?s ord:qty ?o FILTER(isNumeric(?o)) }", False),
    ("fn-strdt", "SELECT ?o (STRDT(STR(?q), xsd:string) AS ?s) WHERE { ?o ord:qty ?q }", False),
    # --- OPTIONAL
    ("opt-attr", "SELECT ?p ?a WHERE { ?p a s:Person OPTIONAL { ?p person:age ?a } }", False),
    ("opt-filter", "SELECT ?p ?a WHERE { ?p a s:Person OPTIONAL { ?p person:age ?a "
                   "FILTER(?a > 40) } }", False),
    ("opt-rel", "SELECT ?o ?e WHERE { ?o a s:Order OPTIONAL { ?o ord:approver ?e } }", False),
    ("opt-two", "SELECT ?o ?e ?d WHERE { ?o a s:Order OPTIONAL { ?o ord:approver ?e . "
                "?e emp:dept ?d } }", False),
    ("opt-nested", "SELECT ?o ?e ?d WHERE { ?o a s:Order OPTIONAL { ?o ord:approver ?e "
                   "OPTIONAL { ?e emp:dept ?d } } }", False),
    ("opt-unbound", "SELECT ?c WHERE { ?c a s:Customer OPTIONAL { ?c cust:rating ?r } "
                    "FILTER(!BOUND(?r)) }", False),
    ("opt-link", "SELECT ?o ?p WHERE { ?o ord:qty ?q OPTIONAL { ?o ord:items ?p } }", False),
    ("opt-filter-outer", "SELECT ?c ?r WHERE { ?c a s:Customer OPTIONAL { ?c cust:rating ?r } "
                         "FILTER(?r > 2 || !BOUND(?r)) }", False),
    # --- UNION, MINUS, BIND, VALUES, subqueries
    ("union", "SELECT ?x ?n WHERE { { ?x person:name ?n } UNION { ?x cust:cname ?n } }", False),
    ("union-unbalanced", "SELECT ?x ?a ?c WHERE { { ?x person:age ?a } UNION "
                         "{ ?x cust:city ?c } }", False),
    ("minus", "SELECT ?p WHERE { ?p a s:Person MINUS { ?p a s:Employee } }", False),
    ("minus-attr", "SELECT ?c WHERE { ?c a s:Customer MINUS { ?c cust:vip true } }", False),
    ("bind", "SELECT ?o ?d WHERE { ?o ord:qty ?q BIND(?q * 10 AS ?d) }", False),
    ("bind-filter", "SELECT ?o ?d WHERE { ?o ord:qty ?q BIND(?q * 10 AS ?d) FILTER(?d > 50) }",
     False),
    ("values", 'SELECT ?c ?x WHERE { VALUES ?x { "Oslo" "Bergen" } ?c cust:city ?x }', False),
    ("values-entity", f"SELECT ?o WHERE {{ VALUES ?c {{ {C3} "
                      "<http://ex.org/shop/data/Customer/4> } ?o ord:customer ?c }", False),
    ("values-multi", 'SELECT ?c ?x ?v WHERE { ?c cust:city ?x ; cust:vip ?v } '
                     'VALUES (?x ?v) { ("Oslo" true) ("Bergen" UNDEF) }', False),
    ("subquery", "SELECT ?c ?n WHERE { ?c cust:cname ?n { SELECT ?c WHERE { ?o ord:customer ?c "
                 "} GROUP BY ?c HAVING (COUNT(?o) > 2) } }", False),
    ("subquery-limit", "SELECT ?c ?x WHERE { { SELECT ?c WHERE { ?c cust:cid ?i } "
                       "ORDER BY ?i LIMIT 5 } ?c cust:city ?x }", False),
    # --- aggregates
    ("agg-count", "SELECT (COUNT(*) AS ?n) WHERE { ?c a s:Customer }", False),
    ("agg-count-var", "SELECT (COUNT(?a) AS ?n) WHERE { ?p a s:Person "
                      "OPTIONAL { ?p person:age ?a } }", False),
    ("agg-count-distinct", "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?o ord:customer ?c }",
     False),
    ("agg-group-count", "SELECT ?x (COUNT(?c) AS ?n) WHERE { ?c cust:city ?x } GROUP BY ?x",
     False),
    ("agg-sum-int", "SELECT ?c (SUM(?q) AS ?s) WHERE { ?o ord:customer ?c ; ord:qty ?q } "
                    "GROUP BY ?c", False),
    ("agg-sum-dec", "SELECT ?c (SUM(?t) AS ?s) WHERE { ?o ord:customer ?c ; ord:total ?t } "
                    "GROUP BY ?c", False),
    ("agg-min-max", "SELECT (MIN(?t) AS ?lo) (MAX(?t) AS ?hi) WHERE { ?o ord:total ?t }", False),
    ("agg-max-str", "SELECT ?x (MAX(?n) AS ?m) WHERE { ?c cust:city ?x ; cust:cname ?n } "
                    "GROUP BY ?x", False),
    ("agg-avg-double", "SELECT (AVG(?p) AS ?a) WHERE { ?x prod:price ?p }", False),
    ("agg-avg-int", "SELECT (AVG(?q) AS ?a) WHERE { ?x ord:qty ?q FILTER(?q < 3) }", False),
    ("agg-having", "SELECT ?x (COUNT(?c) AS ?n) WHERE { ?c cust:city ?x } GROUP BY ?x "
                   "HAVING (COUNT(?c) >= 6)", False),
    ("agg-empty", "SELECT (COUNT(*) AS ?n) (SUM(?q) AS ?s) WHERE { ?o ord:qty ?q "
                  "FILTER(?q > 100) }", False),
    ("agg-empty-group", "SELECT ?c (COUNT(*) AS ?n) WHERE { ?o ord:customer ?c ; ord:qty ?q "
                        "FILTER(?q > 100) } GROUP BY ?c", False),
    ("agg-join", "SELECT ?t (COUNT(?o) AS ?n) WHERE { ?o ord:approver ?e . ?e emp:dept ?d . "
                 "?d dept:title ?t } GROUP BY ?t", False),
    ("agg-sample-group", "SELECT ?x (SAMPLE(?x) AS ?y) WHERE { ?c cust:city ?x } GROUP BY ?x",
     False),
    ("agg-group-concat", "SELECT ?o (GROUP_CONCAT(?l; separator=\",\") AS ?ls) WHERE "
                         "{ ?o ord:items ?p . ?p prod:label ?l } GROUP BY ?o "
                         "HAVING (COUNT(?p) = 1)", False),
    ("agg-entity-group", "SELECT ?e (COUNT(?o) AS ?n) WHERE { ?o ord:approver ?e } GROUP BY ?e",
     False),
    ("agg-count-link", "SELECT ?p (COUNT(?o) AS ?n) WHERE { ?o ord:items ?p } GROUP BY ?p",
     False),
    ("agg-sum-double", "SELECT (SUM(?b) AS ?s) WHERE { ?d dept:budget ?b }", False),
    # --- ORDER BY, LIMIT, OFFSET, DISTINCT
    ("ord-str", "SELECT ?c ?n WHERE { ?c cust:cname ?n } ORDER BY ?n", True),
    ("ord-desc-limit", "SELECT ?o ?t WHERE { ?o ord:total ?t ; ord:no ?no } "
                       "ORDER BY DESC(?t) ?no LIMIT 7", True),
    ("ord-offset", "SELECT ?o ?no WHERE { ?o ord:no ?no } ORDER BY ?no LIMIT 5 OFFSET 10", True),
    ("ord-nullable", "SELECT ?p ?a ?s WHERE { ?p person:ssn ?s OPTIONAL { ?p person:age ?a } } "
                     "ORDER BY ?a ?s", True),
    ("ord-nullable-desc", "SELECT ?p ?a ?s WHERE { ?p person:ssn ?s OPTIONAL { ?p person:age "
                          "?a } } ORDER BY DESC(?a) ?s", True),
    ("ord-entity", "SELECT ?c WHERE { ?c a s:Customer } ORDER BY ?c", True),
    ("ord-distinct", "SELECT DISTINCT ?x WHERE { ?c cust:city ?x } ORDER BY ?x", True),
    ("ord-count", "SELECT ?x (COUNT(?c) AS ?n) WHERE { ?c cust:city ?x } GROUP BY ?x "
                  "ORDER BY DESC(?n) ?x", True),
    ("ord-expr", "SELECT ?o ?q WHERE { ?o ord:qty ?q ; ord:no ?no } ORDER BY (-?q) ?no", True),
    ("limit-only", "SELECT (COUNT(*) AS ?n) WHERE { SELECT ?o WHERE { ?o ord:qty ?q } "
                   "LIMIT 13 }", False),
    ("offset-big", "SELECT ?o WHERE { ?o ord:no ?no } ORDER BY ?no OFFSET 1000", True),
    ("distinct-join", "SELECT DISTINCT ?city WHERE { ?o ord:customer ?c . ?c cust:city ?city }",
     False),
    ("reduced-count", "SELECT (COUNT(DISTINCT ?city) AS ?n) WHERE { ?c cust:city ?city }", False),
    # --- property paths
    ("path-seq", "SELECT ?o ?x WHERE { ?o ord:customer/cust:city ?x }", False),
    ("path-inverse", f"SELECT ?o WHERE {{ {C3} ^ord:customer ?o }}", False),
    ("path-alt", "SELECT ?x ?n WHERE { ?x person:name|cust:cname ?n }", False),
    ("path-seq3", "SELECT ?o ?t WHERE { ?o ord:approver/emp:dept/dept:title ?t }", False),
    ("path-zero-one", f"SELECT ?x WHERE {{ {C3} ^ord:customer? ?x }}", False),
    # --- ASK, CONSTRUCT, DESCRIBE
    ("ask-true", "ASK { ?c cust:city \"Oslo\" }", False),
    ("ask-false", "ASK { ?c cust:city \"Nowhere\" }", False),
    ("ask-join", "ASK { ?o ord:customer ?c . ?c cust:vip true . ?o ord:qty 9 }", False),
    ("construct", "CONSTRUCT { ?c s:livesIn ?x } WHERE { ?c cust:city ?x }", False),
    ("construct-join", "CONSTRUCT { ?o s:city ?x } WHERE { ?o ord:customer ?c . ?c cust:city ?x "
                       "FILTER(?x = \"Oslo\") }", False),
    ("construct-where", "CONSTRUCT WHERE { ?d dept:title ?t }", False),
    ("describe", f"DESCRIBE {C3}", False),
    ("describe-var", "DESCRIBE ?d WHERE { ?d dept:title ?t }", False),
]

PLANT: list[tuple[str, str, bool]] = [
    ("pl-bgp", "SELECT ?s ?k WHERE { ?s a p:Sensor ; sensor:kind ?k }", False),
    ("pl-join", "SELECT ?r ?v ?k WHERE { ?r rd:sensor ?s ; rd:value ?v . ?s sensor:kind ?k }",
     False),
    ("pl-two-hop", "SELECT ?r ?reg WHERE { ?r rd:sensor ?s . ?s sensor:site ?site . "
                   "?site site:region ?reg }", False),
    ("pl-self-link", "SELECT ?a ?b WHERE { ?a sensor:neighbour ?b }", False),
    ("pl-link-back", "SELECT ?a ?b WHERE { ?a sensor:neighbour ?b . ?b sensor:neighbour ?a }",
     False),
    ("pl-filter-double", "SELECT ?r ?v WHERE { ?r rd:value ?v FILTER(?v > 100) }", False),
    ("pl-filter-neg", "SELECT ?r ?v WHERE { ?r rd:value ?v FILTER(?v < -10.5) }", False),
    ("pl-filter-bool", "SELECT ?r WHERE { ?r rd:flag true }", False),
    ("pl-filter-datetime", "SELECT ?r WHERE { ?r rd:at ?t "
                           "FILTER(?t < \"2025-01-20T00:00:00Z\"^^xsd:dateTime) }", False),
    ("pl-opt-region", "SELECT ?site ?reg WHERE { ?site a p:Site OPTIONAL { ?site site:region "
                      "?reg } }", False),
    ("pl-agg-kind", "SELECT ?k (COUNT(?r) AS ?n) (MIN(?v) AS ?lo) (MAX(?v) AS ?hi) WHERE "
                    "{ ?r rd:sensor ?s ; rd:value ?v . ?s sensor:kind ?k } GROUP BY ?k", False),
    ("pl-agg-avg", "SELECT ?k (AVG(?v) AS ?a) WHERE { ?r rd:sensor ?s ; rd:value ?v . "
                   "?s sensor:kind ?k } GROUP BY ?k", False),
    ("pl-agg-sum", "SELECT ?s (SUM(?v) AS ?t) WHERE { ?r rd:sensor ?s ; rd:value ?v } "
                   "GROUP BY ?s", False),
    ("pl-agg-region", "SELECT ?reg (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s sensor:site ?site . "
                      "?site site:region ?reg } GROUP BY ?reg", False),
    ("pl-agg-having", "SELECT ?s (COUNT(?r) AS ?n) WHERE { ?r rd:sensor ?s } GROUP BY ?s "
                      "HAVING (COUNT(?r) > 8)", False),
    ("pl-order", "SELECT ?r ?v WHERE { ?r rd:value ?v ; rd:readingId ?i } "
                 "ORDER BY DESC(?v) ?i LIMIT 10", True),
    ("pl-order-id", "SELECT ?i ?v WHERE { ?r rd:value ?v ; rd:readingId ?i } "
                    "ORDER BY ?i OFFSET 5 LIMIT 5", True),
    ("pl-path-plus", "SELECT ?b WHERE { <http://ex.org/plant/data/Sensor/1> "
                     "sensor:neighbour+ ?b }", False),
    ("pl-path-star", "SELECT ?a ?b WHERE { ?a sensor:neighbour* ?b . ?a sensor:kind \"temp\" }",
     False),
    ("pl-path-seq", "SELECT ?r ?reg WHERE { ?r rd:sensor/sensor:site/site:region ?reg }", False),
    ("pl-path-inv", "SELECT ?s ?r WHERE { ?s ^rd:sensor ?r . ?s sensor:kind \"flow\" }", False),
    ("pl-minus", "SELECT ?s WHERE { ?s a p:Sensor MINUS { ?s sensor:neighbour ?x } }", False),
    ("pl-exists", "SELECT ?s WHERE { ?s a p:Sensor FILTER EXISTS { ?r rd:sensor ?s ; "
                  "rd:flag true } }", False),
    ("pl-union", "SELECT ?x ?l WHERE { { ?x site:siteName ?l } UNION { ?x sensor:kind ?l } }",
     False),
    ("pl-date-fn", "SELECT ?s (YEAR(?d) AS ?y) WHERE { ?s sensor:installed ?d }", False),
    ("pl-str-key", "SELECT ?p ?o WHERE { <http://ex.org/plant/data/Site/site%201> ?p ?o }",
     False),
    ("pl-ask", "ASK { ?r rd:value ?v FILTER(?v > 119) }", False),
    ("pl-construct", "CONSTRUCT { ?s p:near ?b } WHERE { ?s sensor:neighbour ?b }", False),
    ("pl-bind-round", "SELECT ?r (ROUND(?v) AS ?x) WHERE { ?r rd:value ?v FILTER(?v > 110) }",
     False),
    ("pl-distinct-kind", "SELECT DISTINCT ?k WHERE { ?s sensor:kind ?k }", False),
    ("pl-count-all", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", False),
    ("pl-count-by-pred", "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p", False),
]

SHOP_NUMERIC = [("ord:qty", "o", [2, 5, 8]), ("ord:total", "o", [150, 499.99, 800]),
                ("prod:price", "p", [50, 250.5, 400]), ("person:age", "p", [30, 45, 60]),
                ("emp:salary", "e", [10000, 20000.25]), ("cust:rating", "c", [1.5, 4])]
OPS = ["<", ">=", "=", "!="]
RELATIONS = [("ord:customer", "cust:city"), ("ord:customer", "cust:cname"),
             ("ord:approver", "person:name"), ("ord:items", "prod:label"),
             ("emp:dept", "dept:title")]
AGGS = ["COUNT", "MIN", "MAX"]


def generated() -> list[Case]:
    """Combinations: attribute x comparison x constant, relationship x aggregate, paging."""
    out: list[Case] = []
    for prop, var, constants in SHOP_NUMERIC:
        for op in OPS:
            for c in constants[:2]:
                q = f"SELECT ?{var} ?v WHERE {{ ?{var} {prop} ?v FILTER(?v {op} {c}) }}"
                out.append(Case(f"gen-cmp-{prop}-{op}-{c}", "shop", q))
    for rel, attr in RELATIONS:
        for agg in AGGS:
            q = (f"SELECT ?x ({agg}(?a) AS ?r) WHERE {{ ?x {rel} ?y . ?y {attr} ?a }} "
                 "GROUP BY ?x")
            out.append(Case(f"gen-agg-{rel}-{attr}-{agg}", "shop", q))
        q = f"SELECT ?a (COUNT(*) AS ?n) WHERE {{ ?x {rel} ?y . ?y {attr} ?a }} GROUP BY ?a"
        out.append(Case(f"gen-groupby-{rel}-{attr}", "shop", q))
        q = f"SELECT ?x ?a WHERE {{ ?x {rel} ?y OPTIONAL {{ ?y {attr} ?a }} }}"
        out.append(Case(f"gen-opt-{rel}-{attr}", "shop", q))
    for limit, offset in ((3, 0), (10, 5), (25, 30)):
        q = (f"SELECT ?o ?t ?no WHERE {{ ?o ord:total ?t ; ord:no ?no }} "
             f"ORDER BY ?t ?no LIMIT {limit} OFFSET {offset}")
        out.append(Case(f"gen-page-{limit}-{offset}", "shop", q, ordered=True))
    for kind in ("temp", "flow", "pressure"):
        for bound in (0, 50):
            q = (f'SELECT ?r ?v WHERE {{ ?r rd:sensor ?s ; rd:value ?v . ?s sensor:kind "{kind}" '
                 f"FILTER(?v > {bound}) }}")
            out.append(Case(f"gen-plant-{kind}-{bound}", "plant", q))
    return out


def corpus() -> list[Case]:
    """Every case of the corpus."""
    return ([Case(i, "shop", q, o) for i, q, o in SHOP]
            + [Case(i, "plant", q, o) for i, q, o in PLANT] + generated())
