// This file is part of the HB (henkilökohtainen budjetti) modules for Tryton.
// Licensed under the GNU GPL v3 or later; see LICENSE at the repository root.
// The CSV upload of claims (issue 14): the file is processed in the one
// request of the form; while the browser waits for its report, say so
// (with the number of rows of the file) and do not let it be sent twice.
(function () {
    'use strict';
    var form = document.getElementById('upload-form');
    var status = document.getElementById('upload-status');
    if (!form || !status) {
        return;
    }
    var maximum = parseInt(status.getAttribute('data-max-rows'), 10);

    function show(rows) {
        var text = status.getAttribute('data-processing');
        if (rows !== null) {
            text = status.getAttribute('data-processing-rows').replace(
                '{rows}', rows.toLocaleString(document.documentElement.lang));
        }
        status.querySelector('span').textContent = text;
        status.hidden = false;
    }

    form.addEventListener('submit', function (event) {
        var button = form.querySelector('button[type="submit"]');
        if (button.getAttribute('aria-disabled') === 'true') {
            event.preventDefault();
            return;
        }
        button.setAttribute('aria-disabled', 'true');
        var input = form.querySelector('input[type="file"]');
        var file = input.files && input.files[0];
        show(null);
        if (file && file.text) {
            file.text().then(function (text) {
                var lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
                var rows = lines.filter(function (line) {
                    return line.replace(/[;,\s]/g, '') !== '';
                }).length;
                if (/^\s*authorisation/i.test(lines[0] || '')) {
                    rows -= 1;
                }
                show(Math.min(rows, maximum));
            });
        }
    });
}());
