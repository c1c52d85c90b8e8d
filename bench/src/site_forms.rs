//! `site-forms`: writes a synthetic forms folder for timing `constancia build`.
//!
//! ```text
//! site-forms OUT_DIR QUESTIONS
//! ```
//!
//! writes `OUT_DIR/site.toml` (Spanish and English), `OUT_DIR/lists/*.toml`
//! (eight shared code lists, 32 states and a long list of 2,470
//! municipalities that compiles to its own asset) and `OUT_DIR/sintetico.toml`,
//! one form of exactly QUESTIONS questions. The form repeats a block of 20
//! questions per section that uses every question type (notes and
//! calculations included), texts in both languages, hints, markdown help,
//! shared, form-local and inline choice lists, a cascading select, and
//! relevance, constraint and calculation expressions with every function.
//! Every fifth section repeats, and the next one nests inside it (a group
//! or a repeat), so aggregates (`count`, `sum`) are read from outside.
//!
//! The output is deterministic (no randomness), so timings compare across
//! runs and machines. It does not run the build: `bench/site-build.sh` does.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Questions per section (the last section may have fewer).
const BLOCK: usize = 20;

/// Shared lists: name, Spanish and English word for a choice, number of choices.
const SHARED: [(&str, &str, &str, usize); 8] = [
    ("tipo_acto", "Acto", "Act", 24),
    ("autoridad", "Autoridad", "Authority", 12),
    ("documento", "Documento", "Document", 8),
    ("parentesco", "Parentesco", "Relationship", 16),
    ("idioma", "Idioma", "Language", 6),
    ("nacionalidad", "Nacionalidad", "Nationality", 40),
    ("ocupacion", "Ocupación", "Occupation", 60),
    ("escolaridad", "Escolaridad", "Schooling", 10),
];

const STATES: usize = 32;
const MUNICIPALITIES: usize = 2470;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: site-forms OUT_DIR QUESTIONS";
    let dir = PathBuf::from(args.next().context(usage)?);
    let questions: usize = args.next().context(usage)?.parse().context("QUESTIONS must be a whole number")?;
    if questions < BLOCK {
        bail!("QUESTIONS must be at least {BLOCK}");
    }
    std::fs::create_dir_all(dir.join("lists")).with_context(|| format!("failed to create `{}`", dir.display()))?;
    write(&dir.join("site.toml"), &site())?;
    write(&dir.join("lists/comunes.toml"), &shared_lists())?;
    write(&dir.join("lists/geografia.toml"), &geography())?;
    write(&dir.join("sintetico.toml"), &form(questions))?;
    Ok(())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("failed to write `{}`", path.display()))
}

fn site() -> String {
    r#"[site]
title = { es = "Banco de pruebas", en = "Test bench" }
default_language = "es"
languages = ["es", "en"]
drafts = true
long_list_threshold = 300
quick_exit = { url = "https://www.google.com/" }
"#
    .to_owned()
}

fn shared_lists() -> String {
    let mut out = String::from("# Shared code lists of the synthetic bench form.\n");
    for (name, es, en, size) in SHARED {
        let _ = writeln!(out, "\n[lists.{name}]\nchoices = [");
        for i in 1..size - 1 {
            let _ =
                writeln!(out, "  {{ value = \"{name}_{i:02}\", label = {{ es = \"{es} {i}\", en = \"{en} {i}\" }} }},");
        }
        out.push_str("  { value = \"otro\", label = { es = \"Otro\", en = \"Other\" } },\n");
        out.push_str("  { value = \"ninguno\", label = { es = \"Ninguno\", en = \"None\" } },\n]\n");
    }
    out
}

fn geography() -> String {
    let mut out = String::from("# States and a long list of municipalities (compiled to its own asset).\n");
    out.push_str("\n[lists.estado]\ntranslate = false\nchoices = [\n");
    for s in 1..=STATES {
        let _ = writeln!(out, "  {{ value = \"{s:02}\", label = \"Estado número {s}\" }},");
    }
    out.push_str("]\n\n[lists.municipio]\ntranslate = false\nchoices = [\n");
    for m in 0..MUNICIPALITIES {
        let state = m % STATES + 1;
        let _ = writeln!(
            out,
            "  {{ value = \"{state:02}{m:04}\", label = \"Municipio {m} de San José\", estado = \"{state:02}\" }},"
        );
    }
    out.push_str("]\n");
    out
}

fn form(questions: usize) -> String {
    let mut out = String::new();
    out.push_str(
        r#"# A synthetic form for timing `constancia build` (written by bench's site-forms).
[form]
id = "sintetico"
version = 1
title = { es = "Formulario sintético", en = "Synthetic form" }
intro.es = """
Este formulario **mide** el compilador del sitio.

- Cada sección repite las mismas *veinte* preguntas.
- Más en [la referencia](https://example.org/referencia).
"""
intro.en = """
This form **times** the site compiler.

- Each section repeats the same *twenty* questions.
- More in [the reference](https://example.org/reference).
"""
encrypt = false

[lists.modalidad]
choices = [
  { value = "presencial", label = { es = "Presencial", en = "In person" } },
  { value = "telefono", label = { es = "Por teléfono", en = "By phone" } },
  { value = "video", label = { es = "Por video", en = "By video" } },
]
"#,
    );
    let sections = questions.div_ceil(BLOCK);
    for j in 0..sections {
        let count = BLOCK.min(questions - j * BLOCK);
        section(&mut out, j, count);
    }
    out
}

/// Section `j`: every fifth repeats (j % 5 == 3); the next one nests in it,
/// as a group (j % 10 == 4) or as a repeat (j % 10 == 9).
fn section(out: &mut String, j: usize, count: usize) {
    let p = format!("s{j:04}");
    let _ = write!(
        out,
        "\n# ---------------------------------------------------------------------------\n[[section]]\nid = \"{p}\"\n\
         title = {{ es = \"Sección {j}\", en = \"Section {j}\" }}\n"
    );
    let nested = j % 5 == 4;
    if nested {
        let _ = writeln!(out, "parent = \"s{:04}\"\nrelevant = \"s{:04}_aplica = true\"", j - 1, j - 1);
    } else if j > 0 {
        out.push_str("relevant = \"s0000_aplica = true\"\n");
    }
    if j % 5 == 3 || j % 10 == 9 {
        let min = if j % 5 == 3 { 1 } else { 0 };
        let _ =
            writeln!(out, "repeat = {{ min = {min}, max = 10 }}\nitem_label = {{ es = \"Elemento\", en = \"Item\" }}");
    }
    if j.is_multiple_of(3) {
        out.push_str("help = { es = \"Pregunte **solo** lo necesario.\", en = \"Ask **only** what is needed.\" }\n");
    }
    let shared = SHARED[j % SHARED.len()].0;
    let multi = SHARED[(j + 3) % SHARED.len()].0;
    for k in 0..count {
        out.push_str("\n[[section.question]]\n");
        question(out, &p, j, k, shared, multi);
    }
}

fn question(out: &mut String, p: &str, j: usize, k: usize, shared: &str, multi: &str) {
    let mut q = |id: &str, kind: &str, es: &str, en: &str, rest: &str| {
        let _ = write!(
            out,
            "id = \"{p}_{id}\"\ntype = \"{kind}\"\nlabel = {{ es = \"{es} ({j}.{k})\", en = \"{en} ({j}.{k})\" }}\n{rest}"
        );
    };
    match k {
        0 => q(
            "aplica",
            "yes_no",
            "¿Aplica esta sección?",
            "Does this section apply?",
            "required = true\ndefault = true\nstats = true\n",
        ),
        1 => q(
            "nombre",
            "text",
            "Nombre de la persona",
            "Name of the person",
            &format!(
                "hint = {{ es = \"Como ella lo diga.\", en = \"As they say it.\" }}\nrelevant = \"{p}_aplica = true\"\nmax_length = 120\npii = true\n"
            ),
        ),
        2 => q(
            "relato",
            "textarea",
            "Relato de los hechos",
            "Account of the events",
            &format!(
                "help.es = \"\"\"\nCon sus **propias** palabras.\n\n- Qué pasó\n- Dónde y cuándo\n\"\"\"\nhelp.en = \"\"\"\nIn their **own** words.\n\n- What happened\n- Where and when\n\"\"\"\nrelevant = \"{p}_aplica = true\"\nmax_length = 4000\npii = true\n"
            ),
        ),
        3 => q(
            "edad",
            "integer",
            "Edad",
            "Age",
            &format!(
                "required = \"{p}_aplica = true\"\nmin = 0\nmax = 120\nconstraint = \". >= 0 and . <= 120\"\nconstraint_message = {{ es = \"Entre 0 y 120.\", en = \"Between 0 and 120.\" }}\nstats = true\n"
            ),
        ),
        4 => q(
            "monto",
            "decimal",
            "Monto perdido",
            "Amount lost",
            "min = 0\nconstraint = \". < 1000000\"\nstats = true\n",
        ),
        5 => q(
            "fecha",
            "date",
            "Fecha del hecho",
            "Date of the event",
            "min = \"2000-01-01\"\nconstraint = \". <= today()\"\nconstraint_message = { es = \"No puede ser futura.\", en = \"Cannot be in the future.\" }\n",
        ),
        6 => q(
            "hora",
            "time",
            "Hora del hecho",
            "Time of the event",
            "hint = { es = \"Hora local.\", en = \"Local time.\" }\nconstraint = \". >= time('00:00')\"\n",
        ),
        7 => q(
            "tipo",
            "select_one",
            "Tipo",
            "Type",
            &format!(
                "choices = \"{shared}\"\nrequired = true\nstats = true\n{}",
                if j.is_multiple_of(3) { "appearance = \"dropdown\"\n" } else { "" }
            ),
        ),
        8 => q(
            "forma",
            "select_one",
            "Forma",
            "Form",
            "choices = [\n  { value = \"directa\", label = { es = \"Directa\", en = \"Direct\" } },\n  { value = \"indirecta\", label = { es = \"Indirecta\", en = \"Indirect\" } },\n  { value = \"no_sabe\", label = { es = \"No sabe\", en = \"Does not know\" } },\n]\ndefault = \"directa\"\nappearance = \"horizontal\"\nconstraint = \". != 'no_sabe' or selected(., 'no_sabe')\"\n",
        ),
        9 => q(
            "varios",
            "select_multiple",
            "Varios",
            "Several",
            &format!(
                "choices = \"{multi}\"\nrelevant = \"{p}_tipo != 'otro'\"\nmin = 1\nmax = 3\nconstraint = \"not(selected(., 'ninguno')) or count_selected(.) = 1\"\nstats = true\n"
            ),
        ),
        10 => q(
            "varios_otro",
            "text",
            "Especifique",
            "Specify",
            &format!("relevant = \"selected({p}_varios, 'otro')\"\nrequired = true\nmax_length = 200\n"),
        ),
        11 => q("correo", "email", "Correo", "E-mail", &format!("relevant = \"{p}_aplica = true\"\npii = true\n")),
        12 => q("telefono", "phone", "Teléfono", "Telephone", "pii = true\n"),
        13 => q(
            "aviso",
            "note",
            "**Atención:** es una persona menor de edad",
            "**Caution:** the person is a minor",
            &format!("relevant = \"{p}_edad < 18\"\n"),
        ),
        14 => {
            q("anios", "calculate", "Años", "Years", &format!("calculation = \"years_between({p}_fecha, today())\"\n"))
        }
        15 => q(
            "grupo",
            "calculate",
            "Grupo",
            "Group",
            &format!("calculation = \"if({p}_edad >= 18, 'adulto', 'menor')\"\nstats = true\n"),
        ),
        16 => q(
            "detalle",
            "integer",
            "Veces",
            "Times",
            &format!(
                "relevant = \"{p}_anios > 1 and answered({p}_nombre) and len({p}_nombre) > 2\"\nconstraint = \". <= {p}_edad * 2 + 1\"\n"
            ),
        ),
        17 => q("estado", "select_one", "Estado", "State", "choices = \"estado\"\nstats = true\n"),
        18 => q(
            "municipio",
            "select_one",
            "Municipio",
            "Municipality",
            &format!(
                "choices = \"municipio\"\nchoice_filter = {{ estado = \"{p}_estado\" }}\nrelevant = \"answered({p}_estado)\"\n"
            ),
        ),
        _ if j.is_multiple_of(5) && j >= 5 => q(
            "total",
            "calculate",
            "Total",
            "Total",
            &format!("calculation = \"count(s{:04}) + sum(s{:04}_monto)\"\n", j - 2, j - 2),
        ),
        _ => q(
            "modalidad",
            "select_one",
            "Modalidad",
            "Mode",
            "choices = \"modalidad\"\nrequired = \"s0000_aplica = true\"\n",
        ),
    }
}
