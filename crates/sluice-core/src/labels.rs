//! Setting labels that several step types share, so each is translated once.

use crate::plugin::{Localized, SettingLabel};

/// "Result store field": where a step writes what it found or made.
pub const RESULT_FIELD: SettingLabel = SettingLabel {
    name: "resultField",
    label: Localized {
        en: "Result store field",
        fr: "Champ de stockage du résultat",
        es: "Campo de almacenamiento del resultado",
        pt: "Campo de armazenamento do resultado",
        de: "Ergebnisspeicherfeld",
    },
};

/// "User name": the name or id of a user (a model path or a fixed value).
pub const USER_NAME: SettingLabel = SettingLabel {
    name: "userName",
    label: Localized {
        en: "User name",
        fr: "Nom d'utilisateur",
        es: "Nombre de usuario",
        pt: "Nome do usuário",
        de: "Benutzername",
    },
};

/// "Client for request": the client or application that initiates the request.
pub const CLIENT: SettingLabel = SettingLabel {
    name: "client",
    label: Localized {
        en: "Client for request",
        fr: "Client pour la demande",
        es: "Cliente para la solicitud",
        pt: "Cliente para solicitação",
        de: "Client für Anfrage",
    },
};

/// "Purpose": what a one-time code is for; the code steps of one flow share it.
pub const PURPOSE: SettingLabel = SettingLabel {
    name: "purpose",
    label: Localized { en: "Purpose", fr: "Finalité", es: "Finalidad", pt: "Finalidade", de: "Zweck" },
};

/// "User info field": a field holding a user's id (such as `data.creatorSubject`).
pub const USER_INFO_FIELD: SettingLabel = SettingLabel {
    name: "userInfoField",
    label: Localized {
        en: "User info field",
        fr: "Champ d'informations utilisateur",
        es: "Campo de información del usuario",
        pt: "Campo de informações do usuário",
        de: "Benutzerinformationsfeld",
    },
};

/// "Fields mapping", for the settings that map fields (named `fields` or `fieldsMapping`).
pub const FIELDS_MAPPING: Localized = Localized {
    en: "Fields mapping",
    fr: "Correspondance des champs",
    es: "Asignación de campos",
    pt: "Mapeamento de campos",
    de: "Feldzuordnung",
};

/// "User password": a field holding a password.
pub const USER_PASSWORD: SettingLabel = SettingLabel {
    name: "userPassword",
    label: Localized {
        en: "User password",
        fr: "Mot de passe de l'utilisateur",
        es: "Contraseña del usuario",
        pt: "Senha do usuário",
        de: "Benutzerpasswort",
    },
};

/// "Component": the component whose entries a step reads or writes.
pub const COMPONENT: SettingLabel = SettingLabel {
    name: "component",
    label: Localized { en: "Component", fr: "Composant", es: "Componente", pt: "Componente", de: "Komponente" },
};

/// "Dst field name": where a step puts what it read.
pub const DST_FIELD: SettingLabel = SettingLabel {
    name: "dstField",
    label: Localized {
        en: "Dst field name",
        fr: "Nom du champ de destination",
        es: "Nombre del campo de destino",
        pt: "Nome do campo de destino",
        de: "Name des Zielfelds",
    },
};

/// "Src field": the field a step reads.
pub const SRC_FIELD: SettingLabel = SettingLabel {
    name: "srcField",
    label: Localized {
        en: "Src field",
        fr: "Champ source",
        es: "Campo de origen",
        pt: "Campo de origem",
        de: "Quellfeld",
    },
};

/// "Operations": the list of calculations of Simple math and Calculate array.
pub const OPERATIONS: SettingLabel = SettingLabel {
    name: "operations",
    label: Localized { en: "Operations", fr: "Opérations", es: "Operaciones", pt: "Operações", de: "Operationen" },
};
