/* This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
   Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.

   Installed in sao's page by tests/test_browser_roles.py: records what
   goes wrong (JavaScript exceptions, error and warning dialogs) and lets
   the test open menu entries through sao's own action code and look at
   what they show. Everything is reached through window.hbWalk. */
(function() {
    'use strict';
    if (window.hbWalk) {
        return;
    }
    var walk = window.hbWalk = {
        errors: [],
        downloads: [],
        opened_urls: [],
        wizards: [],
    };

    function describe(value) {
        if (value === undefined || value === null) {
            return String(value);
        }
        if (value instanceof Error) {
            return value.name + ': ' + value.message;
        }
        try {
            return JSON.stringify(value).slice(0, 600);
        } catch (e) {
            return String(value);
        }
    }

    window.addEventListener('error', function(event) {
        walk.errors.push('JavaScript error: ' + event.message);
    });
    window.addEventListener('unhandledrejection', function(event) {
        walk.errors.push('unhandled rejection: ' + describe(event.reason));
    });
    // sao's promises are jQuery Deferreds: an exception thrown in one of
    // their callbacks goes to this hook (and only to console.warn)
    var hook = jQuery.Deferred.exceptionHook;
    jQuery.Deferred.exceptionHook = function(error, stack) {
        walk.errors.push('JavaScript exception: ' + describe(error));
        if (hook) {
            hook(error, stack);
        }
    };
    // The dialogs by which sao shows a server error, a UserError or a
    // UserWarning: recorded as failures and answered at once
    Sao.common.error.run = function(title, details) {
        walk.errors.push('error dialog: ' + describe(title) + ' ' +
            describe(details).slice(0, 1500));
        return jQuery.when();
    };
    Sao.common.warning.run = function(message, title) {
        walk.errors.push('warning dialog: ' + describe(title) + ' ' +
            describe(message));
        return jQuery.Deferred().reject().promise();
    };
    Sao.common.userwarning.run = function(message, title) {
        walk.errors.push('user warning dialog: ' + describe(title) + ' ' +
            describe(message));
        return jQuery.Deferred().reject().promise();
    };
    window.alert = function(message) {
        walk.errors.push('alert: ' + message);
    };
    window.open = function(url) {
        walk.opened_urls.push(String(url));
        return null;
    };
    // Reports end in a download
    Sao.common.download_file = function(data, name) {
        var size = data ? (data.length || data.size || data.byteLength ||
            0) : 0;
        walk.downloads.push({name: name, size: size});
    };
    // A screen's search runs between requests
    walk.searching = 0;
    var search_filter = Sao.Screen.prototype.search_filter;
    Sao.Screen.prototype.search_filter = function() {
        walk.searching += 1;
        var prm = search_filter.apply(this, arguments);
        jQuery.when(prm).always(function() {
            walk.searching -= 1;
        });
        return prm;
    };
    // Where a record has several actions to open it, sao asks which one:
    // the first is taken, as a user picks one
    var selection = Sao.common.selection;
    Sao.common.selection = function(title, values, alwaysask) {
        var keys = Object.keys(values || {});
        if (keys.length) {
            return jQuery.when(values[keys[0]]);
        }
        return selection.apply(this, arguments);
    };
    var run = Sao.Wizard.prototype.run;
    Sao.Wizard.prototype.run = function(attributes) {
        walk.wizards.push(this);
        var prm = run.call(this, attributes);
        this.hb_prm = prm;
        return prm;
    };

    function session() {
        return Sao.Session.current_session;
    }

    walk.menu_entries = function() {
        return Sao.rpc({
            'method': 'model.ir.ui.menu.search_read',
            'params': [[], 0, null, [['id', 'ASC']],
                ['complete_name', 'action'], {}],
        }, session()).then(function(menus) {
            return menus.filter(function(menu) {
                return menu.action;
            }).map(function(menu) {
                return {
                    id: menu.id,
                    name: menu.complete_name,
                    action: menu.action,
                };
            });
        });
    };

    walk.reset = function() {
        walk.errors = [];
        walk.downloads = [];
        walk.opened_urls = [];
        walk.wizards = [];
    };

    // Open a menu entry as sao does when it is activated in the menu
    // (Sao.main_menu_row_activate: the "tree_open" keyword of the menu)
    walk.open = function(menu_id) {
        return Sao.rpc({
            'method': 'model.ir.action.keyword.get_keyword',
            'params': ['tree_open', ['ir.ui.menu', menu_id], {}],
        }, session()).then(function(actions) {
            if (!actions.length) {
                return {type: null};
            }
            var action = actions[0];
            var result = {type: action.type, name: action.name};
            var prm = Sao.Action.exec_action(action, {
                'model': 'ir.ui.menu',
                'id': menu_id,
            }, {});
            if (action.type == 'ir.action.act_window') {
                // The tab is added once its view is loaded and its search
                // has started: waited for, so that idle() cannot end in
                // a pause before the search (the list then seemed to
                // count records without rows on a loaded machine)
                return jQuery.when(prm).then(
                    function() { return result; },
                    function() { return result; });
            }
            // Not waited for: a wizard's promise ends with the wizard
            return result;
        });
    };

    var ROWS_GRACE_MS = 20000;
    var rows_missing = new WeakMap();

    function busy() {
        var active = jQuery.active;
        if (Sao.Bus.request && Sao.Bus.request.state() == 'pending') {
            active -= 1;  // the bus's long poll
        }
        if (active > 0) {
            return true;
        }
        if (walk.searching > 0) {
            return true;
        }
        for (const tab of Sao.Tab.tabs) {
            // sao draws a list's rows after reading its records: give it
            // ROWS_GRACE_MS (a loaded machine is slow)
            var view = tab.screen && tab.screen.current_view;
            if (view && view.view_type == 'tree' && tab.screen.group &&
                tab.screen.group.length &&
                !view.el.find('table.tree > tbody > tr').length) {
                if (!rows_missing.has(view)) {
                    rows_missing.set(view, Date.now());
                }
                if (Date.now() - rows_missing.get(view) < ROWS_GRACE_MS) {
                    return true;
                }
            }
        }
        for (const wizard of walk.wizards) {
            if (wizard.hb_prm && wizard.hb_prm.state() == 'pending' &&
                (wizard.__processing || !wizard.__waiting_response)) {
                return true;
            }
        }
        // A dialog fading in or out
        return jQuery('.modal').filter(function() {
            var modal = jQuery(this);
            return modal.is(':visible') != modal.hasClass('in');
        }).length > 0;
    }

    // Resolve when sao has had nothing to do for quiet_ms (or after
    // max_ms): no request running, no wizard between two states, no
    // dialog moving
    walk.idle = function(quiet_ms, max_ms) {
        quiet_ms = quiet_ms || 60;
        max_ms = max_ms || 30000;
        var dfd = jQuery.Deferred();
        var start = Date.now();
        var since = null;
        var check = function() {
            var now = Date.now();
            if (busy()) {
                since = null;
            } else if (since === null) {
                since = now;
            } else if (now - since >= quiet_ms) {
                window.requestAnimationFrame(function() {
                    dfd.resolve(true);
                });
                return;
            }
            if (now - start > max_ms) {
                dfd.resolve(false);
                return;
            }
            window.setTimeout(check, 20);
        };
        check();
        return dfd.promise();
    };

    function describe_tab(tab) {
        var result = {
            name: tab.name_long,
            kind: tab.class_,
        };
        var screen = tab.screen;
        if (!screen) {
            if (tab.wizard) {
                result.kind = 'tab-wizard';
            }
            return result;
        }
        var view = screen.current_view;
        result.model = screen.model_name;
        result.view_type = view ? view.view_type : null;
        result.views = screen.number_of_views;
        result.search_count = screen.search_count;
        result.records = screen.group ? screen.group.length : 0;
        result.record_id = screen.current_record ?
            screen.current_record.id : null;
        if (view && view.view_type == 'tree') {
            result.rows = view.el.find('table.tree > tbody > tr').length;
            result.keyword_open = view.attributes.keyword_open == 1;
            result.editable = Boolean(view.editable);
            result.visible = view.el.is(':visible');
        } else if (view && view.view_type == 'form') {
            result.widgets = view.el.find(
                '.form-item, .form-label, input, select, textarea').length;
            result.visible = view.el.is(':visible');
        } else if (view && view.view_type == 'graph') {
            result.svg = view.el.find('svg').length;
        } else if (view && view.view_type == 'calendar') {
            result.calendar = view.el.find('.fc-view, .fc-view-harness')
                .length;
        }
        return result;
    }

    walk.state = function() {
        var tabs = Sao.Tab.tabs.map(describe_tab);
        var wizards = walk.wizards.map(function(wizard) {
            return {
                name: wizard.name,
                action: wizard.action,
                state: wizard.state,
                end_state: wizard.end_state,
                waiting: wizard.__waiting_response,
                ended: wizard.hb_prm ? wizard.hb_prm.state() : 'pending',
                buttons: Object.keys(wizard.states),
            };
        });
        return {
            tabs: tabs,
            wizards: wizards,
            errors: walk.errors.slice(),
            downloads: walk.downloads.slice(),
            opened_urls: walk.opened_urls.slice(),
            modals: jQuery('.modal:visible').length,
        };
    };

    // Cancel the open wizards with their end button (as the user does)
    walk.cancel_wizards = function() {
        var cancelled = 0;
        if (walk.searching > 0) {
            return true;
        }
        for (const tab of Sao.Tab.tabs) {
            // sao draws a list's rows after reading its records: give it
            // ROWS_GRACE_MS (a loaded machine is slow)
            var view = tab.screen && tab.screen.current_view;
            if (view && view.view_type == 'tree' && tab.screen.group &&
                tab.screen.group.length &&
                !view.el.find('table.tree > tbody > tr').length) {
                if (!rows_missing.has(view)) {
                    rows_missing.set(view, Date.now());
                }
                if (Date.now() - rows_missing.get(view) < ROWS_GRACE_MS) {
                    return true;
                }
            }
        }
        for (const wizard of walk.wizards) {
            if (wizard.hb_prm && wizard.hb_prm.state() != 'pending') {
                continue;
            }
            var button = wizard.states[wizard.end_state];
            if (button) {
                button.el.click();
            } else if (wizard.screen) {
                wizard.response({state: wizard.end_state});
            } else {
                continue;
            }
            cancelled++;
        }
        return cancelled;
    };

    // Open the first record of the current tab's list as the user does
    // with a double click (a row activation)
    walk.activate_first_row = function() {
        var tab = Sao.Tab.tabs.get_current();
        var screen = tab.screen;
        var view = screen.current_view;
        if (view.editable) {
            // An editable list edits in place: the form is one switch away
            screen.current_record = screen.group[0];
            return screen.switch_view('form');
        }
        var row = view.el.find('table.tree > tbody > tr').first();
        row.children('td[headers]').first().trigger('dblclick');
        return jQuery.when();
    };

    walk.close_all = function() {
        var dfd = jQuery.Deferred();
        var close = function() {
            var tab = Sao.Tab.tabs[Sao.Tab.tabs.length - 1];
            if (!tab) {
                dfd.resolve();
                return;
            }
            // A record changed by opening it must not ask to be saved
            if (tab.screen) {
                for (const record of tab.screen.group || []) {
                    if (record.modified) {
                        record.cancel();
                    }
                }
            }
            tab.close().then(close, function() {
                dfd.reject('tab "' + tab.name_long + '" did not close');
            });
        };
        close();
        return dfd.promise().always(function() {
            jQuery('.modal:visible').modal('hide');
        });
    };
}());
