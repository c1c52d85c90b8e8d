//! Built-in texts of pages and validation messages, in Spanish and English.
//!
//! Form texts come from TOML; these are the few words Constancia itself
//! says ("(optional)", "Send", "Answer this question"). A language without
//! its own table falls back to English.

/// The built-in words of one language.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    /// Marks an optional question.
    pub optional: &'static str,
    /// The submit button.
    pub submit: &'static str,
    /// yes_no answers.
    pub yes: &'static str,
    /// yes_no answers.
    pub no: &'static str,
    /// Empty option of a dropdown.
    pub choose: &'static str,
    /// Hint of a long list typed without JavaScript.
    pub search_hint: &'static str,
    /// Button adding an instance of a repeat.
    pub add_another: &'static str,
    /// Button removing an instance.
    pub remove: &'static str,
    /// Shown on conditional sections when skip logic cannot run.
    pub conditional: &'static str,
    /// Skip link.
    pub skip_to_content: &'static str,
    /// Heading of the language switch.
    pub language: &'static str,
    /// Heading of the forms index.
    pub forms: &'static str,
    /// Version label.
    pub version: &'static str,
    /// The quick exit control.
    pub quick_exit: &'static str,
    /// Heading of an error summary.
    pub error_summary: &'static str,
    /// Prefix of the page title when there are errors.
    pub error_prefix: &'static str,
    /// The name of each language, in itself.
    pub language_name: &'static str,
    /// Validation: a required question is unanswered.
    pub required: &'static str,
    /// Validation: the answer is not of the question's type.
    pub invalid_integer: &'static str,
    /// Validation: not a number.
    pub invalid_decimal: &'static str,
    /// Validation: not a date.
    pub invalid_date: &'static str,
    /// Validation: not a time.
    pub invalid_time: &'static str,
    /// Validation: not yes or no.
    pub invalid_yes_no: &'static str,
    /// Validation: not text.
    pub invalid_text: &'static str,
    /// Validation: not an e-mail address.
    pub invalid_email: &'static str,
    /// Validation: not a telephone number.
    pub invalid_phone: &'static str,
    /// Validation: not a code of the list.
    pub invalid_choice: &'static str,
    /// Validation: a typed long-list answer matches nothing; `{}` = suggestions.
    pub no_match: &'static str,
    /// Validation: the choice does not fit the answer it depends on.
    pub filtered_choice: &'static str,
    /// Validation: below `min`; `{}` = the limit.
    pub too_small: &'static str,
    /// Validation: above `max`.
    pub too_large: &'static str,
    /// Validation: earlier than `min`.
    pub too_early: &'static str,
    /// Validation: later than `max`.
    pub too_late: &'static str,
    /// Validation: fewer choices than `min` (plural; see [`fill`]).
    pub too_few_choices: &'static str,
    /// [`Messages::too_few_choices`] when `min` is 1.
    pub too_few_choices_one: &'static str,
    /// Validation: more choices than `max` (plural; see [`fill`]).
    pub too_many_choices: &'static str,
    /// [`Messages::too_many_choices`] when `max` is 1.
    pub too_many_choices_one: &'static str,
    /// Validation: longer than `max_length` (plural; see [`fill`]).
    pub too_long: &'static str,
    /// [`Messages::too_long`] when `max_length` is 1.
    pub too_long_one: &'static str,
    /// Validation: a constraint without its own message failed.
    pub constraint: &'static str,
    /// Validation: fewer instances than `min`.
    pub too_few_instances: &'static str,
    /// Validation: more instances than `max`.
    pub too_many_instances: &'static str,
    /// Validation: a field the form does not have.
    pub unknown_field: &'static str,
    /// Validation: a repeat that is not a list of objects.
    pub invalid_repeat: &'static str,
    /// Browser: heading of the receipt once a case is delivered.
    pub received: &'static str,
    /// Browser: the receipt's reference; `{}` = the reference.
    pub reference: &'static str,
    /// Browser: link from a receipt back to a blank form.
    pub another: &'static str,
    /// Browser: the case could not be sent now and waits in the outbox.
    pub queued: &'static str,
    /// Browser: the collector refused the case; `{}` = the HTTP status.
    pub held: &'static str,
    /// Browser: the case could be neither sent nor kept on the device.
    pub not_saved: &'static str,
    /// Browser: outbox status, cases waiting; `{}` = how many.
    pub waiting: &'static str,
    /// Browser: outbox status, cases refused; `{}` = how many.
    pub attention: &'static str,
    /// Browser: outbox status, a case delivered in the background; `{}` = its reference.
    pub delivered: &'static str,
    /// Browser: a draft was restored; `{}` = when it was saved.
    pub draft: &'static str,
    /// Browser: the button that discards a restored draft.
    pub discard: &'static str,
}

const ES: Messages = Messages {
    optional: "(opcional)",
    submit: "Enviar",
    yes: "Sí",
    no: "No",
    choose: "Elija una opción",
    search_hint: "Escriba el nombre o el código.",
    add_another: "Añadir otro",
    remove: "Quitar",
    conditional: "Complete esta sección solo si corresponde.",
    skip_to_content: "Saltar al contenido",
    language: "Idioma",
    forms: "Formularios",
    version: "versión",
    quick_exit: "Salir de esta página",
    error_summary: "Hay un problema",
    error_prefix: "Error: ",
    language_name: "Español",
    required: "Responda esta pregunta.",
    invalid_integer: "Escriba un número entero, por ejemplo 12.",
    invalid_decimal: "Escriba un número, por ejemplo 12,5.",
    invalid_date: "Escriba una fecha válida (año-mes-día).",
    invalid_time: "Escriba una hora válida (HH:MM).",
    invalid_yes_no: "Elija sí o no.",
    invalid_text: "Escriba un texto.",
    invalid_email: "Escriba una dirección de correo válida, como nombre@ejemplo.org.",
    invalid_phone: "Escriba un número de teléfono válido.",
    invalid_choice: "Elija una de las opciones.",
    no_match: "No se encontró esa opción. ¿Quiso decir: {}?",
    filtered_choice: "Esta opción no corresponde a la respuesta anterior de la que depende.",
    too_small: "El valor mínimo es {}.",
    too_large: "El valor máximo es {}.",
    too_early: "La fecha no puede ser anterior a {}.",
    too_late: "La fecha no puede ser posterior a {}.",
    too_few_choices: "Elija al menos {} opciones.",
    too_few_choices_one: "Elija al menos {} opción.",
    too_many_choices: "Elija como máximo {} opciones.",
    too_many_choices_one: "Elija como máximo {} opción.",
    too_long: "Escriba como máximo {} caracteres.",
    too_long_one: "Escriba como máximo {} carácter.",
    constraint: "La respuesta no es válida.",
    too_few_instances: "Añada al menos {}.",
    too_many_instances: "Puede añadir como máximo {}.",
    unknown_field: "Este campo no existe en el formulario.",
    invalid_repeat: "Se esperaba una lista de elementos.",
    received: "Caso recibido",
    reference: "Referencia: {}",
    another: "Registrar otro caso",
    queued: "Guardado en este dispositivo; se enviará al haber conexión.",
    held: "Rechazado (HTTP {}); guardado en este dispositivo.",
    not_saved: "No se pudo enviar ni guardar.",
    waiting: "Casos por enviar: {}",
    attention: "con problemas: {}",
    delivered: "Caso enviado: {}",
    draft: "Se recuperó un borrador guardado en este dispositivo ({}).",
    discard: "Descartar borrador",
};

const EN: Messages = Messages {
    optional: "(optional)",
    submit: "Send",
    yes: "Yes",
    no: "No",
    choose: "Choose an option",
    search_hint: "Type the name or the code.",
    add_another: "Add another",
    remove: "Remove",
    conditional: "Fill in this section only if it applies.",
    skip_to_content: "Skip to content",
    language: "Language",
    forms: "Forms",
    version: "version",
    quick_exit: "Exit this page",
    error_summary: "There is a problem",
    error_prefix: "Error: ",
    language_name: "English",
    required: "Answer this question.",
    invalid_integer: "Enter a whole number, like 12.",
    invalid_decimal: "Enter a number, like 12.5.",
    invalid_date: "Enter a real date (year-month-day).",
    invalid_time: "Enter a real time (HH:MM).",
    invalid_yes_no: "Choose yes or no.",
    invalid_text: "Enter text.",
    invalid_email: "Enter an e-mail address like name@example.org.",
    invalid_phone: "Enter a valid telephone number.",
    invalid_choice: "Choose one of the options.",
    no_match: "No option matches. Did you mean: {}?",
    filtered_choice: "This option does not fit the earlier answer it depends on.",
    too_small: "The lowest value is {}.",
    too_large: "The highest value is {}.",
    too_early: "The date cannot be before {}.",
    too_late: "The date cannot be after {}.",
    too_few_choices: "Choose at least {} options.",
    too_few_choices_one: "Choose at least {} option.",
    too_many_choices: "Choose at most {} options.",
    too_many_choices_one: "Choose at most {} option.",
    too_long: "Enter at most {} characters.",
    too_long_one: "Enter at most {} character.",
    constraint: "The answer is not valid.",
    too_few_instances: "Add at least {}.",
    too_many_instances: "You can add at most {}.",
    unknown_field: "The form has no such field.",
    invalid_repeat: "A list of items was expected.",
    received: "Case received",
    reference: "Reference: {}",
    another: "Record another case",
    queued: "Saved on this device; it will be sent when online.",
    held: "Refused (HTTP {}); kept on this device.",
    not_saved: "Could not send or save.",
    waiting: "Cases waiting to be sent: {}",
    attention: "with problems: {}",
    delivered: "Case delivered: {}",
    draft: "A draft saved on this device was restored ({}).",
    discard: "Discard draft",
};

/// The built-in words of a language (English where there is no table).
pub fn for_language(lang: &str) -> &'static Messages {
    match lang {
        "es" => &ES,
        _ => &EN,
    }
}

/// Fills the `{}` of a message. When the value is 1 and the message is one
/// that counts things ("at least {} options"), its singular form is used
/// ("at least 1 option"), so callers need not choose.
pub fn fill(template: &str, value: impl std::fmt::Display) -> String {
    let value = value.to_string();
    let template = if value == "1" { singular(template).unwrap_or(template) } else { template };
    template.replacen("{}", &value, 1)
}

/// The singular form of a counting message of any language, by its plural.
pub fn singular(plural: &str) -> Option<&'static str> {
    [&ES, &EN].into_iter().find_map(|t| {
        [
            (t.too_few_choices, t.too_few_choices_one),
            (t.too_many_choices, t.too_many_choices_one),
            (t.too_long, t.too_long_one),
        ]
        .into_iter()
        .find_map(|(many, one)| (many == plural).then_some(one))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_one_are_singular() {
        assert_eq!(fill(ES.too_few_choices, 1), "Elija al menos 1 opción.");
        assert_eq!(fill(ES.too_few_choices, 2), "Elija al menos 2 opciones.");
        assert_eq!(fill(ES.too_many_choices, 1), "Elija como máximo 1 opción.");
        assert_eq!(fill(ES.too_long, 1), "Escriba como máximo 1 carácter.");
        assert_eq!(fill(EN.too_few_choices, 1), "Choose at least 1 option.");
        assert_eq!(fill(EN.too_many_choices, 3), "Choose at most 3 options.");
        assert_eq!(fill(EN.too_long, 1), "Enter at most 1 character.");
        assert_eq!(fill(EN.too_long, 10), "Enter at most 10 characters.");
    }

    #[test]
    fn other_messages_are_filled_as_written() {
        assert_eq!(fill(EN.too_small, 1), "The lowest value is 1.");
        assert_eq!(fill(ES.too_few_instances, 1), "Añada al menos 1.");
        assert_eq!(fill("{} and {}", 1), "1 and {}");
    }
}
