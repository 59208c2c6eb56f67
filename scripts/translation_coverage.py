# This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
# Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
"""The share of translated labels in the views each role opens.

    python scripts/translation_coverage.py -d DATABASE [-c trytond.conf]
        [--lang fi] [--minimum 98]

For each demo role (``USERS`` of ``hb_avain/demo.py``: a user is made with
the role's groups, in a transaction that is rolled back) and for admin: every
menu entry the user can see, the window name and tab names of its action, the
names in its toolbar (print, action and relate), its context form, its views
as the client gets them (``fields_view_get``, with the x2many sub-views a form
embeds) and the first form of a wizard; every label in them (the field strings
and help texts, the ``string``, ``help`` and ``confirm`` of buttons, pages,
groups, separators and labels, the translatable selection values) and the
menu names. A label is translated when its text in LANG differs from the
English, or when it is one of the few words that are the same in both
(SAME_IN_BOTH).

Prints the share per role and overall and the untranslated labels; exits 1
when the share of any role is below MINIMUM percent. The database must have
the HB modules activated and LANG loaded (as ``scripts/demo.sh`` makes it).
"""
import argparse
import os
import re
import sys
from collections import Counter

from lxml import etree

# Labels written the same in Finnish and English, each for a reason:
SAME_IN_BOTH = {
    'ID',  # the database id, shown as "ID" in every language
    'IBAN',  # international standard name of a bank account number
    'BIC',  # international standard name of a bank's code
    'SEPA',  # the Single Euro Payments Area, a proper name
    'URL',  # no Finnish word is used for it
    'PDF', 'CSV', 'XML', 'ODT',  # file formats
    'OK',  # written so in Finnish user interfaces too
    'Logo',  # a Finnish word as well ("logo")
    'IRC', 'Jabber', 'SIP', 'Skype',  # names of messaging services
    }

LETTER = re.compile(r'[^\W\d_]', re.UNICODE)


def _arch_labels(arch):
    "Yield (path, tag, name, string) of each element with a string"
    root = etree.fromstring(arch.encode('utf-8') if isinstance(arch, str)
        else arch)
    for index, element in enumerate(root.iter()):
        if not isinstance(element.tag, str):
            continue
        for attr in ('string', 'sum', 'help', 'confirm'):
            value = element.get(attr)
            if value:
                yield ((index, attr), element.tag, element.get('name'),
                    value)


def _view_labels(model, view_en, view_lang, add, selection_sources):
    "Add the labels of a view (and of the sub-views it embeds)"
    for key_en, key_lang in zip(
            _arch_labels(view_en['arch']), _arch_labels(view_lang['arch'])):
        path, tag, name, string = key_en
        add(('view', model, view_en.get('view_id'), path),
            string, key_lang[3])
    fields_en = view_en.get('fields', {})
    fields_lang = view_lang.get('fields', {})
    for fname, definition in fields_en.items():
        other = fields_lang.get(fname, {})
        if definition.get('string'):
            add(('field', model, fname), definition['string'],
                other.get('string', ''))
        if definition.get('help'):
            add(('help', model, fname), definition['help'],
                other.get('help', ''))
        selection = definition.get('selection')
        if isinstance(selection, (list, tuple)):
            lang_values = dict(other.get('selection') or [])
            for value, label in selection:
                if label and (model, fname, label) in selection_sources:
                    add(('selection', model, fname, value), label,
                        lang_values.get(value, ''))
        for vkey, sub_en in (definition.get('views') or {}).items():
            sub_lang = (other.get('views') or {}).get(vkey)
            relation = definition.get('relation')
            if sub_lang and relation:
                _view_labels(relation, sub_en, sub_lang, add,
                    selection_sources)


def role_labels(user_id, lang, skip=frozenset(), seen=None):
    """Return {key: (english, translated)} of the labels user_id meets in
    the menus it can see (in the current transaction). The actions of the
    menus in skip are left out (their names are counted); the ids of the
    menus whose action is measured are added to seen."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Translation = pool.get('ir.translation')
    labels = {}
    selection_sources = set()
    with Transaction().set_context(language='en'):
        for translation in Translation.search([
                    ('lang', '=', 'en'), ('type', '=', 'selection'),
                    ]):
            model, fname = translation.name.split(',', 1)
            selection_sources.add((model, fname, translation.src))

    def add(key, english, translated):
        if english and LETTER.search(english):
            labels[key] = (english, translated)

    def in_lang(language, function, *args):
        with Transaction().set_user(user_id), \
                Transaction().set_context(language=language,
                    _check_access=True):
            return function(*args)

    def menus():
        Menu = pool.get('ir.ui.menu')
        return [(m.id, m.name, m.action and str(m.action))
            for m in Menu.search([])]

    def action_info(action_ref):
        type_, id_ = action_ref.split(',')
        Action = pool.get(type_)
        action = Action(int(id_))
        info = {'name': action.name}
        if type_ == 'ir.action.act_window':
            info['model'] = action.res_model
            info['domains'] = [d[0] for d in action.domains]
            info['views'] = list(action.views)
            info['context_model'] = action.context_model
            if action.res_model:
                Model = pool.get(action.res_model)
                toolbar = Model.view_toolbar_get()
                info['toolbar'] = [
                    (kind, item['id'], item['name'])
                    for kind in ('print', 'action', 'relate')
                    for item in toolbar.get(kind, [])]
        elif type_ == 'ir.action.wizard':
            info['wizard'] = action.wiz_name
        return info

    def view(model, view_id, view_type):
        Model = pool.get(model)
        return Model.fields_view_get(view_id=view_id, view_type=view_type)

    def wizard_views(wiz_name):
        "The first form of the wizard and its buttons"
        Wizard = pool.get(wiz_name, type='wizard')
        state = Wizard.states.get(Wizard.start_state)
        if not hasattr(state, 'get_view'):
            return None
        wizard = Wizard.__new__(Wizard)
        definition = state.get_view(wizard, Wizard.start_state)
        buttons = [b['string'] for b in state.get_buttons(
                wizard, Wizard.start_state)]
        return state.model_name, definition, buttons

    menus_en = {m[0]: m for m in in_lang('en', menus)}
    menus_lang = {m[0]: m for m in in_lang(lang, menus)}
    seen_views = set()
    for menu_id, name_en, action_ref in menus_en.values():
        add(('menu', menu_id), name_en, menus_lang[menu_id][1])
        if not action_ref or menu_id in skip:
            continue
        if seen is not None:
            seen.add(menu_id)
        info_en = in_lang('en', action_info, action_ref)
        info_lang = in_lang(lang, action_info, action_ref)
        add(('action', action_ref), info_en['name'], info_lang['name'])
        for i, (domain_en, domain_lang) in enumerate(
                zip(info_en.get('domains', []),
                    info_lang.get('domains', []))):
            add(('domain', action_ref, i), domain_en, domain_lang)
        for (kind, id_, name_en), (_, _, name_lang) in zip(
                info_en.get('toolbar', []), info_lang.get('toolbar', [])):
            add(('toolbar', kind, id_), name_en, name_lang)
        if info_en.get('context_model'):
            context_model = info_en['context_model']
            if (context_model, None, 'form') not in seen_views:
                seen_views.add((context_model, None, 'form'))
                _view_labels(context_model,
                    in_lang('en', view, context_model, None, 'form'),
                    in_lang(lang, view, context_model, None, 'form'),
                    add, selection_sources)
        if info_en.get('model'):
            model = info_en['model']
            views = info_en['views'] or [(None, 'tree'), (None, 'form')]
            for view_id, view_type in views:
                if (model, view_id, view_type) in seen_views:
                    continue
                seen_views.add((model, view_id, view_type))
                _view_labels(model,
                    in_lang('en', view, model, view_id, view_type),
                    in_lang(lang, view, model, view_id, view_type),
                    add, selection_sources)
        elif info_en.get('wizard'):
            try:
                found_en = in_lang('en', wizard_views, info_en['wizard'])
                found_lang = in_lang(lang, wizard_views, info_en['wizard'])
            except Exception:
                found_en = found_lang = None
            if found_en and found_lang:
                model, view_en, buttons_en = found_en
                _, view_lang, buttons_lang = found_lang
                _view_labels(model, view_en, view_lang, add,
                    selection_sources)
                for i, (b_en, b_lang) in enumerate(
                        zip(buttons_en, buttons_lang)):
                    add(('button', info_en['wizard'], i), b_en, b_lang)
    return labels


def is_translated(english, translated):
    return bool(translated) and (
        translated != english or english in SAME_IN_BOTH)


def measure(users, lang='fi'):
    """users: [(login, role, user id)]; return {login: (role, total,
    translated, Counter of untranslated English labels)}. Admin, who sees
    every menu, is measured last on the menus no other role sees (the
    others' screens are measured with their own rights)."""
    result = {}
    seen = set()
    users = sorted(users, key=lambda u: u[1] == 'admin')
    for login, role, user_id in users:
        if role == 'admin':
            labels = role_labels(user_id, lang, skip=seen)
        else:
            labels = role_labels(user_id, lang, seen=seen)
        untranslated = Counter()
        for key, (english, translated) in sorted(labels.items(), key=str):
            if not is_translated(english, translated):
                untranslated[english] += 1
                WHERE.setdefault(english, key)
        total = len(labels)
        result[login] = (role, total, total - sum(untranslated.values()),
            untranslated)
    return result


# English label -> the key of one place it is shown untranslated
WHERE = {}


def role_users():
    """Create (in the current transaction) one user per demo role of
    hb_avain's USERS, with the role's groups; return [(login, role, id)]
    with admin first"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from trytond.modules.hb_avain.demo import USERS
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    admin, = User.search([('login', '=', 'admin')])
    company = Transaction().context.get('company') or (
        admin.company and admin.company.id)
    users = [('admin', 'admin', admin.id)]
    done = set()
    for login, name, role, groups in USERS:
        if role in done:
            continue
        done.add(role)
        user = User(login='coverage-%s' % login, name=name,
            groups=[ModelData.get_id(*g.split('.', 1)) for g in groups])
        if company:
            user.companies = [company]
            user.company = company
        user.save()
        users.append((login, role, user.id))
    return users


def report(result, minimum, out=sys.stdout):
    "Print the shares and the untranslated labels; return the lowest share"
    lowest = 100.0
    all_total = all_translated = 0
    missing = Counter()
    for login, (role, total, translated, untranslated) in result.items():
        share = 100.0 * translated / total if total else 100.0
        lowest = min(lowest, share)
        all_total += total
        all_translated += translated
        missing.update(untranslated)
        print('%-16s %-16s %5.1f %% (%d / %d labels)' % (
                role, login, share, translated, total), file=out)
    if all_total:
        print('%-33s %5.1f %% (%d / %d labels)' % ('overall',
                100.0 * all_translated / all_total, all_translated,
                all_total), file=out)
    if missing:
        print('\nUntranslated labels (occurrences):', file=out)
        for english, count in sorted(missing.items()):
            print('  %3d  %s  [%s]' % (count, english,
                    ' '.join(map(str, WHERE.get(english, ())))), file=out)
    if lowest < minimum:
        print('\nA role is below %s %%' % minimum, file=out)
    return lowest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('-c', '--config', default=os.environ.get(
            'TRYTOND_CONFIG'))
    parser.add_argument('--lang', default='fi')
    parser.add_argument('--minimum', type=float, default=98.0)
    args = parser.parse_args(argv)
    from trytond import config
    if args.config:
        config.update_etc(args.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(args.database)
    pool.init()
    with Transaction().start(args.database, 0, readonly=False) as transaction:
        try:
            result = measure(role_users(), args.lang)
        finally:
            transaction.rollback()
    lowest = report(result, args.minimum)
    return 0 if lowest >= args.minimum else 1


if __name__ == '__main__':
    sys.exit(main())
